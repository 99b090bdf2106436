// Server side: the viewer route /s/<sceneId> (?token= for share links). Thin: the viewer is a client component.
import type { Metadata } from 'next';
import { Viewer } from '../../viewer/Viewer';

interface Props {
  params: Promise<{ sceneId: string }>;
}

export async function generateMetadata({ params }: Props): Promise<Metadata> {
  const { sceneId } = await params;
  return { title: `${sceneId} · Splatsync` };
}

export default async function ScenePage({ params }: Props) {
  const { sceneId } = await params;
  return <Viewer sceneId={sceneId} />;
}
