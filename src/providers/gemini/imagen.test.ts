import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../errors.js';
import { imagenAnswer, imagenPredictBody, imagenUsage, isImagenModel } from './imagen.js';

const LABEL = 'gemini deployment "imagen"';

function refusal(run: () => unknown): GatewayError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(GatewayError);
    return error as GatewayError;
  }
  throw new Error('expected a refusal');
}

describe('Imagen request mapping', () => {
  it('maps n, size and output options to the predict parameters', () => {
    expect(imagenPredictBody({ model: 'imagen', prompt: 'a cat', n: 3, size: '896x1280', response_format: 'b64_json', user: 'u-1', quality: 'auto' }, LABEL, false)).toEqual({
      instances: [{ prompt: 'a cat' }],
      parameters: { sampleCount: 3, aspectRatio: '3:4', includeRaiReason: true },
    });
    expect(imagenPredictBody({ prompt: 'a cat', size: 'auto', output_format: 'jpeg', output_compression: 70 }, LABEL, true).parameters).toEqual({
      sampleCount: 1,
      includeRaiReason: true,
      outputOptions: { mimeType: 'image/jpeg', compressionQuality: 70 },
    });
  });

  it('refuses by name what Imagen cannot do', () => {
    expect(refusal(() => imagenPredictBody({ prompt: 'a', response_format: 'url' }, LABEL, false)).message).toContain('ask for "b64_json"');
    expect(refusal(() => imagenPredictBody({ prompt: 'a', size: '256x256' }, LABEL, false)).message).toContain('"size": "256x256" has no Imagen aspect ratio');
    expect(refusal(() => imagenPredictBody({ prompt: 'a', n: 5 }, LABEL, false)).message).toContain('at most 4');
    expect(refusal(() => imagenPredictBody({ prompt: 'a', quality: 'hd' }, LABEL, false)).message).toContain('"quality": "hd" is not supported');
    expect(refusal(() => imagenPredictBody({ prompt: 'a', seed: 1 }, LABEL, false)).message).toContain('"seed" is not supported');
    expect(refusal(() => imagenPredictBody({ prompt: 'a', output_format: 'png' }, LABEL, false)).message).toContain('takes no output options');
    expect(refusal(() => imagenPredictBody({ prompt: 'a', output_format: 'webp' }, LABEL, true)).message).toContain('"png" or "jpeg"');
    expect(refusal(() => imagenPredictBody({ prompt: 'a', output_compression: 50 }, LABEL, true)).message).toContain('"jpeg" only');
  });

  it('knows Imagen models by name', () => {
    expect(isImagenModel('imagen-3.0-generate-002')).toBe(true);
    expect(isImagenModel('models/imagen-4.0-ultra-generate-001')).toBe(true);
    expect(isImagenModel('imagegeneration@006')).toBe(true);
    expect(isImagenModel('gemini-2.0-flash')).toBe(false);
  });
});

describe('Imagen answers', () => {
  const answer = { predictions: [{ bytesBase64Encoded: 'AAAA', mimeType: 'image/png', prompt: 'an enhanced prompt' }, { bytesBase64Encoded: 'BBBB', mimeType: 'image/png' }, { raiFilteredReason: 'filtered 1 image' }] };

  it('become OpenAI images, billed per image returned', () => {
    expect(imagenAnswer(answer, 'gemini', 1_700_000_000)).toEqual({
      created: 1_700_000_000,
      data: [{ b64_json: 'AAAA', revised_prompt: 'an enhanced prompt' }, { b64_json: 'BBBB' }],
      output_format: 'png',
    });
    expect(imagenUsage(answer, undefined).units).toEqual({ images: 2, imageVariant: undefined });
    expect(imagenUsage({}, undefined).units).toEqual({ images: 0, imageVariant: undefined });
  });

  it('without an image are refused with the filter\'s reason', () => {
    expect(refusal(() => imagenAnswer({ predictions: [{ raiFilteredReason: 'blocked: violence' }] }, 'vertex_ai', 0)).message).toContain('blocked: violence');
    expect(refusal(() => imagenAnswer({}, 'gemini', 0)).message).toContain('returned no image');
  });
});
