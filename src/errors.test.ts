import { describe, expect, it } from 'vitest';
import { databaseNotReady, modelIdNotFound } from './errors.js';

describe('error factories', () => {
  it('databaseNotReady is a 503 that says what to do meanwhile', () => {
    const error = databaseNotReady();
    expect(error.status).toBe(503);
    expect(error.toEnvelope().error).toEqual({ message: 'the gateway is still connecting to its database; try again shortly', type: 'service_unavailable_error', param: null, code: 'not_ready' });
    expect(databaseNotReady('the master key works').message).toBe('the gateway is still connecting to its database; the master key works');
  });

  it('modelIdNotFound is a 404 naming the id, the parameter and where to find ids', () => {
    const error = modelIdNotFound('dep-9', 'model_info.id');
    expect(error.status).toBe(404);
    expect(error.param).toBe('model_info.id');
    expect(error.message).toBe('no model with id "dep-9"; GET /model/info lists the models and their ids');
  });
});
