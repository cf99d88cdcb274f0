// Entry file of the training worker thread. Worker threads do not inherit loader hooks registered
// in code (bin/facecast.js calls register(); vitest uses its own transform), so this plain-JS file
// installs tsx's loader in the new thread before it imports the TypeScript worker.
import { register } from 'tsx/esm/api';

register();
await import('./trainWorker.ts');
