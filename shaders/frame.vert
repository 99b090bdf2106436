// Full-screen quad for the streamed frame. The quad's positions are already in clip space
// (-1..1), so no camera matrices apply: the frame always covers the whole canvas, behind any
// 3D content (depth 1.0 = far plane).
precision highp float;

in vec3 position;
out vec2 vUv;

void main() {
  // Texture row 0 is the top image row (ImageBitmap is not flipped on upload): v grows downward.
  vUv = vec2(position.x * 0.5 + 0.5, 0.5 - position.y * 0.5);
  gl_Position = vec4(position.xy, 1.0, 1.0);
}
