import { koaThree } from './mounts.js';
import { runConformance } from './suite.js';

runConformance(koaThree);
