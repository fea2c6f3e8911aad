import { expressFive } from './mounts.js';
import { runConformance } from './suite.js';

runConformance(expressFive);
