import { koaTwo } from './mounts.js';
import { runConformance } from './suite.js';

runConformance(koaTwo);
