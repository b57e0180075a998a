import { describe, expect, it } from 'vitest';
import { withApiBaseQuery } from './api-base-query.js';

describe('withApiBaseQuery', () => {
  it('puts the path before the api_base’s query and keeps both queries', () => {
    expect(withApiBaseQuery('http://h/v1?sig=abc/chat/completions', 'http://h/v1?sig=abc')).toBe('http://h/v1/chat/completions?sig=abc');
    expect(withApiBaseQuery('https://r.example?sig=a%2Fb/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21', 'https://r.example?sig=a%2Fb')).toBe(
      'https://r.example/openai/deployments/gpt-4o/chat/completions?sig=a%2Fb&api-version=2024-10-21',
    );
    expect(withApiBaseQuery('http://h/v1/?x=1/models', 'http://h/v1/?x=1')).toBe('http://h/v1/models?x=1');
  });

  it('leaves URLs alone when the api_base has no query or the URL is not built on it', () => {
    expect(withApiBaseQuery('http://h/v1/chat/completions', 'http://h/v1')).toBe('http://h/v1/chat/completions');
    expect(withApiBaseQuery('http://other/v1/x', 'http://h/v1?sig=1')).toBe('http://other/v1/x');
  });
});
