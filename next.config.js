// Next.js config for the Splatsync viewer (app/). ESM: package.json has "type": "module".
//
// GLSL sources in shaders/ (*.vert, *.frag, *.glsl) are imported by the client as plain
// strings, with no loader package: Turbopack's built-in `raw` module type (default `next build`)
// and webpack's `asset/source` (`next build --webpack`) do the same thing.

/** @type {import('next').NextConfig} */
const nextConfig = {
  // The project type-checks itself (`npm run typecheck`); the tree also holds server code.
  typescript: { ignoreBuildErrors: true },
  turbopack: {
    rules: {
      '*.vert': { type: 'raw' },
      '*.frag': { type: 'raw' },
      '*.glsl': { type: 'raw' },
    },
  },
  webpack(config) {
    config.module.rules.push({ test: /\.(vert|frag|glsl)$/, type: 'asset/source' });
    return config;
  },
};

export default nextConfig;
