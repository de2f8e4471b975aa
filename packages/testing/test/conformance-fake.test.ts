import { fakeBackend, runConformance } from '../src/conformance/index.js';

runConformance(fakeBackend, { name: 'fake' });
