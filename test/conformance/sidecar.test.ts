import { sidecar } from './mounts.js';
import { runConformance } from './suite.js';

runConformance(sidecar);
