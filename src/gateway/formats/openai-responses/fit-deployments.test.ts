import { describe, expect, it } from 'vitest';
import { fitToDeployments } from './fit-deployments.js';

const request = { model: 'm', messages: [{ role: 'user' as const, content: 'x' }], user: 'u', parallel_tool_calls: false, temperature: 0.1 };

describe('fitToDeployments (Responses)', () => {
  it('drops the hints no deployment takes, with a warning, and leaves everything else', () => {
    const fitted = fitToDeployments(request, [new Set(['temperature', 'tools'])]);
    expect(fitted.request).toEqual({ model: 'm', messages: request.messages, temperature: 0.1 });
    expect(fitted.warnings).toEqual(['ignored "parallel_tool_calls": the model\'s provider has no equivalent', 'ignored "user": the model\'s provider has no equivalent']);
  });

  it('keeps signed thinking only for a group whose adapter declares thinking', () => {
    const withThinking = { model: 'm', messages: [{ role: 'assistant' as const, content: 'x', thinking_blocks: [{ type: 'thinking', thinking: 't', signature: 's' }] }] };
    expect(fitToDeployments(withThinking, [new Set(['thinking'])]).request).toEqual(withThinking);
    expect(fitToDeployments(withThinking, [undefined]).request.messages).toEqual([{ role: 'assistant', content: 'x' }]);
  });

  it('keeps a hint when some deployment takes it, or passes everything through', () => {
    expect(fitToDeployments(request, [new Set(['user']), new Set(['parallel_tool_calls'])]).request).toEqual(request);
    expect(fitToDeployments(request, [undefined]).warnings).toEqual([]);
    expect(fitToDeployments(request, []).request).toEqual(request);
  });
});
