import { nodeBridge } from './mounts.js';
import { runConformance } from './suite.js';

runConformance(nodeBridge);
