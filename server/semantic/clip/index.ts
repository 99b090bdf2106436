// CLIP text queries: tokenizer (tokenizer.ts), ONNX text encoder (encoder.ts), scene checks
// (query.ts), comparison with the export script's PyTorch reference (verify.ts).
export * from './tokenizer';
export * from './encoder';
export * from './query';
export * from './verify';
