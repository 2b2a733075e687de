import { DatagenSource } from './datagen-source.js';

export { DatagenSource, DatagenConfig } from './datagen-source.js';
export { generate, schemas as datagenSchemas, type Quickstart } from './generator.js';
export const plugins = [DatagenSource];
