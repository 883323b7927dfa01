/** OpenAPI decorators and schemas shared by the controllers (src/openapi-document.ts finishes the served document). */
export * from './api-json-response.decorator';
export * from './api-path-params.decorator';
export * from './api-problem-responses.decorator';
export * from './api-public.decorator';
export * from './api-signed-in.decorator';
export * from './problem-details.dto';
export * from './resource-schemas';
export * from './label-schemas';
