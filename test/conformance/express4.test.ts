import { expressFour } from './mounts.js';
import { runConformance } from './suite.js';

runConformance(expressFour);
