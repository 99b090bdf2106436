#!/usr/bin/env node
// The `splatsync` command. The server is TypeScript run through tsx (no separate build step).
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../server/cli.ts');
process.exitCode = await main(process.argv.slice(2));
