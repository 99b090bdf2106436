// Streamed JPEG frame, drawn as is: the texture holds sRGB-encoded bytes (no colour-space
// conversion on upload) and is written straight to the sRGB canvas.
//
// uLabelMask / uLabelOpacity are reserved for the label overlay (per-pixel label ids that
// travel beside the JPEG); with uLabelOpacity = 0 they have no effect.
precision highp float;

uniform sampler2D uFrame;
uniform bool uHasFrame;
uniform vec3 uBackground;
uniform sampler2D uLabelMask;
uniform float uLabelOpacity;

in vec2 vUv;
out vec4 outColor;

void main() {
  vec3 color = uHasFrame ? texture(uFrame, vUv).rgb : uBackground;
  if (uLabelOpacity > 0.0) {
    vec4 label = texture(uLabelMask, vUv);
    color = mix(color, label.rgb, label.a * uLabelOpacity);
  }
  outColor = vec4(color, 1.0);
}
