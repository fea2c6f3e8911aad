import { sidecar } from './mounts.js';
import { runConformance } from './suite.js';

// The sidecar holding the access tokens: clients send API keys.
runConformance(sidecar, { label: 'server-held tokens', held: true });
