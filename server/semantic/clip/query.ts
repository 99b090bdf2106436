// Text selection's preconditions, with the messages a user sees (DESIGN.md §1, "text"):
// the server needs a CLIP text encoder, and the scene CLIP features of the encoder's width.
import { ClipError, type ClipTextEncoder, type EmbedResult } from './encoder';

/** Throws ClipError('unavailable') when a text query cannot run on this scene with this encoder. */
export function checkTextQuery(encoder: ClipTextEncoder | null | undefined, featureDim: number): asserts encoder is ClipTextEncoder {
  if (featureDim <= 0) {
    throw new ClipError('this scene has no semantic features, so text queries are unavailable');
  }
  if (!encoder) {
    throw new ClipError(
      'text queries need a CLIP text encoder and this server has none: start it with --clip DIR or set SPLATSYNC_CLIP_DIR (see tools/README.md)',
    );
  }
  if (encoder.dim !== featureDim) {
    throw new ClipError(
      `this scene's semantic features are not CLIP features of this text encoder: they have D = ${featureDim}, the encoder gives D = ${encoder.dim}` +
        ' (text queries need a scene distilled from the same CLIP model, e.g. LSeg / CLIP ViT-B/16 features with D = 512)',
    );
  }
}

/** checkTextQuery, then the prompt's embedding (ClipError 'bad_request' for an empty or too long prompt). */
export async function embedTextQuery(encoder: ClipTextEncoder | null | undefined, featureDim: number, text: string): Promise<EmbedResult> {
  checkTextQuery(encoder, featureDim);
  return encoder.embedWithInfo(text);
}
