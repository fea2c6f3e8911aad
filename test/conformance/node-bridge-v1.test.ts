import { nodeBridge } from './mounts.js';
import { runConformance } from './suite.js';

// The same cases when the upstream streams v1 deltas instead of whole messages.
runConformance(nodeBridge, { label: 'v1 encoding', options: { encoding: 'v1' } });
