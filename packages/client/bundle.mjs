#!/usr/bin/env node
// Builds the client's browser bundle (dist/chatfleet.js, .map, .d.ts) from rolldown.config.mjs, quietly: run after `tsc -b`.
import { build } from 'rolldown';
import configs from './rolldown.config.mjs';

process.chdir(new URL('.', import.meta.url).pathname);
for (const config of configs) await build({ ...config, logLevel: 'warn' });
