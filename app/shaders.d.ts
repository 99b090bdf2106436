// GLSL sources in shaders/ import as strings (next.config.js: Turbopack `raw`, webpack `asset/source`).
declare module '*.vert' {
  const source: string;
  export default source;
}
declare module '*.frag' {
  const source: string;
  export default source;
}
declare module '*.glsl' {
  const source: string;
  export default source;
}
