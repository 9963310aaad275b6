import type { StageModule } from '../../src/handler.js';

const module: StageModule = {};
export default module;
