// Streamed JPEG frame with the label overlay. The frame texture holds sRGB-encoded bytes (no
// colour-space conversion on upload) and is written straight to the sRGB canvas.
//
// Label overlay: uLabels is the frame's [H,W] label-index map (R8, NEAREST: index / 255),
// uPalette a 256x1 RGBA table (index -> colour, a = opacity, 0 = hidden; index 255 = this
// client's hover preview). A labelled texel is tinted with its colour at uLabelFill; where the
// index differs from a neighbour one canvas pixel away, a near-opaque outline is drawn on both
// sides of the boundary (1-2 px).
//
// Photo (mask vs photo, app/viewer/photo.ts): at a dataset view the dataset's own photo can
// replace the frame inside the view's rectangle uPhotoRect (uv: left, top, width, height), over
// the background where the photo is transparent; the label overlay is drawn on top the same way.
precision highp float;

uniform sampler2D uFrame;
uniform bool uHasFrame;
uniform vec3 uBackground;
uniform sampler2D uLabels;
uniform sampler2D uPalette;
uniform bool uHasLabels;
uniform float uLabelFill;
/** One canvas pixel in uv units. */
uniform vec2 uPixel;
uniform sampler2D uPhoto;
uniform bool uHasPhoto;
uniform vec4 uPhotoRect;

in vec2 vUv;
out vec4 outColor;

const float OUTLINE = 0.9;
const vec2 NEIGHBOURS[4] = vec2[4](vec2(1.0, 0.0), vec2(-1.0, 0.0), vec2(0.0, 1.0), vec2(0.0, -1.0));

int labelAt(vec2 uv) {
  return int(texture(uLabels, clamp(uv, vec2(0.0), vec2(1.0))).r * 255.0 + 0.5);
}

vec4 paletteAt(int k) {
  return texelFetch(uPalette, ivec2(k, 0), 0);
}

void main() {
  vec3 color = uHasFrame ? texture(uFrame, vUv).rgb : uBackground;
  if (uHasPhoto) {
    vec2 p = (vUv - uPhotoRect.xy) / uPhotoRect.zw;
    if (p.x >= 0.0 && p.y >= 0.0 && p.x <= 1.0 && p.y <= 1.0) {
      vec4 photo = texture(uPhoto, p);
      color = mix(uBackground, photo.rgb, photo.a);
    }
  }
  if (uHasLabels) {
    int k = labelAt(vUv);
    vec4 own = k > 0 ? paletteAt(k) : vec4(0.0);
    vec4 edge = vec4(0.0);
    for (int i = 0; i < 4; i++) {
      int j = labelAt(vUv + NEIGHBOURS[i] * uPixel);
      if (j == k) continue;
      if (own.a > 0.0) {
        edge = own;
        break;
      }
      vec4 other = j > 0 ? paletteAt(j) : vec4(0.0);
      if (other.a > edge.a) edge = other;
    }
    if (edge.a > 0.0) {
      color = mix(color, edge.rgb, OUTLINE * edge.a);
    } else if (own.a > 0.0) {
      color = mix(color, own.rgb, uLabelFill * own.a);
    }
  }
  outColor = vec4(color, 1.0);
}
