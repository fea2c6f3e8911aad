import { Validator } from '@seriousme/openapi-schema-validator';
import t from 'tap';
import { openapiDocument } from '../src/http/openapi.js';

// Checked against the OpenAPI 3.1 meta-schema by a validator of documents (the conformance
// suite checks the answers against it with Ajv).
t.test('the document is valid OpenAPI 3.1, at the root and under a prefix', async (t) => {
  for (const base of ['', '/chat']) {
    const validator = new Validator();
    const result = await validator.validate(openapiDocument(base));
    t.same(result, { valid: true }, `valid with base "${base}"`);
    t.equal(validator.version, '3.1');
  }
});
