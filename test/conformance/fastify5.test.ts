import { fastifyFive } from './mounts.js';
import { runConformance } from './suite.js';

runConformance(fastifyFive);
