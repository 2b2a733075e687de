import type { ConverterPlugin, HeaderConverterPlugin } from '@ferry/core';
import { JsonConverterPlugin } from './json-converter.js';
import { StringConverterPlugin } from './string-converter.js';
import { ByteArrayConverterPlugin } from './bytearray-converter.js';
import { SimpleHeaderConverterPlugin } from './simple-header-converter.js';

export { JsonConverter, JsonConverterPlugin, schemaToJson, schemaFromJson } from './json-converter.js';
export { StringConverter, StringConverterPlugin } from './string-converter.js';
export { ByteArrayConverter, ByteArrayConverterPlugin } from './bytearray-converter.js';
export { SimpleHeaderConverter, SimpleHeaderConverterPlugin } from './simple-header-converter.js';

export const builtinConverters: ConverterPlugin[] = [JsonConverterPlugin, StringConverterPlugin, ByteArrayConverterPlugin];
export const builtinHeaderConverters: HeaderConverterPlugin[] = [SimpleHeaderConverterPlugin];
