// Loads one scene into a SceneRuntime (bundle + native handle) and prints the process' resident
// memory before and after, as JSON. Run by bench/import.ts in a fresh process.
import { SceneStore } from '../scene/store';
import { SceneRuntime } from '../render/runtime';

const [dataDir, sceneId] = process.argv.slice(2);
const baselineMB = process.memoryUsage().rss / 2 ** 20;
const rt = await SceneRuntime.load(new SceneStore(dataDir!), sceneId!, 'cpu');
globalThis.gc?.();
await new Promise((r) => setTimeout(r, 200));
const rssMB = process.memoryUsage().rss / 2 ** 20;
console.log(JSON.stringify({ rssMB, baselineMB, count: rt.bundle.header.count }));
rt.dispose();
