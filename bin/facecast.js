#!/usr/bin/env node
// Entry point of the `facecast` command: runs the TypeScript sources through tsx's loader, so the
// same files serve development, tests and production without a separate build step.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
