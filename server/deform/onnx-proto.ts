// The few ONNX protobuf messages the deformation graph needs, encoded by hand.
//
// Protobuf wire format: each field is a key varint (field_number << 3 | wire_type) then the
// value: wire type 0 = varint (int32/int64/enum), 2 = length-delimited (string, bytes,
// sub-message, packed repeated scalars), 5 = fixed32 (float). Field numbers are those of
// onnx/onnx.proto (IR version 8):
//
//   ModelProto          1 ir_version (int64)  2 producer_name  3 producer_version  7 graph
//                       8 opset_import (repeated OperatorSetIdProto)
//   OperatorSetIdProto  1 domain (string)  2 version (int64)
//   GraphProto          1 node (repeated NodeProto)  2 name  5 initializer (repeated TensorProto)
//                       11 input  12 output (repeated ValueInfoProto)
//   NodeProto           1 input (repeated string)  2 output (repeated string)  3 name
//                       4 op_type  5 attribute (repeated AttributeProto)
//   AttributeProto      1 name  2 f (float)  3 i (int64)  8 ints (repeated int64)
//                       20 type (AttributeType: FLOAT = 1, INT = 2, INTS = 7)
//   TensorProto         1 dims (repeated int64)  2 data_type (FLOAT = 1, INT64 = 7)
//                       8 name  9 raw_data (bytes, little-endian)
//   ValueInfoProto      1 name  2 type (TypeProto)
//   TypeProto           1 tensor_type (TypeProto.Tensor)
//   TypeProto.Tensor    1 elem_type (int32, a TensorProto data type)  2 shape (TensorShapeProto)
//   TensorShapeProto    1 dim (repeated Dimension)
//   Dimension           1 dim_value (int64)  2 dim_param (string)

const utf8 = new TextEncoder();

/** Append-only protobuf message writer. */
export class Pb {
  private chunks: Uint8Array[] = [];
  private len = 0;

  private push(b: Uint8Array): void {
    this.chunks.push(b);
    this.len += b.length;
  }

  private varintBytes(v: number | bigint): Uint8Array {
    let x = BigInt.asUintN(64, BigInt(v));
    const out: number[] = [];
    do {
      let byte = Number(x & 0x7fn);
      x >>= 7n;
      if (x !== 0n) byte |= 0x80;
      out.push(byte);
    } while (x !== 0n);
    return Uint8Array.from(out);
  }

  private key(field: number, wire: number): void {
    this.push(this.varintBytes((field << 3) | wire));
  }

  varint(field: number, v: number | bigint): this {
    this.key(field, 0);
    this.push(this.varintBytes(v));
    return this;
  }

  float(field: number, v: number): this {
    this.key(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.push(b);
    return this;
  }

  bytes(field: number, b: Uint8Array): this {
    this.key(field, 2);
    this.push(this.varintBytes(b.length));
    this.push(b);
    return this;
  }

  string(field: number, s: string): this {
    return this.bytes(field, utf8.encode(s));
  }

  message(field: number, m: Pb): this {
    return this.bytes(field, m.finish());
  }

  /** Packed repeated int64. */
  packedInt64(field: number, vs: readonly number[]): this {
    const p = new Pb();
    for (const v of vs) p.push(p.varintBytes(v));
    return this.bytes(field, p.finish());
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.len);
    let o = 0;
    for (const c of this.chunks) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  }
}

export const DT_FLOAT = 1;
export const DT_INT64 = 7;

export type AttrValue = { f: number } | { i: number } | { ints: number[] };

export interface OnnxNode {
  op: string;
  inputs: string[];
  outputs: string[];
  name?: string;
  attrs?: Record<string, AttrValue>;
}

export interface OnnxInitializer {
  name: string;
  dims: number[];
  /** float32 data, or int64 values (given as numbers). */
  data: Float32Array | { int64: number[] };
}

export interface OnnxValueInfo {
  name: string;
  /** number = fixed size, string = symbolic dimension. */
  dims: (number | string)[];
  elemType?: number;
}

export interface OnnxGraph {
  name: string;
  nodes: OnnxNode[];
  initializers: OnnxInitializer[];
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
}

function tensorProto(t: OnnxInitializer): Pb {
  const p = new Pb().packedInt64(1, t.dims);
  if (t.data instanceof Float32Array) {
    p.varint(2, DT_FLOAT).string(8, t.name);
    const raw = new Uint8Array(t.data.length * 4);
    const dv = new DataView(raw.buffer);
    for (let i = 0; i < t.data.length; i++) dv.setFloat32(i * 4, t.data[i]!, true);
    p.bytes(9, raw);
  } else {
    p.varint(2, DT_INT64).string(8, t.name);
    const raw = new Uint8Array(t.data.int64.length * 8);
    const dv = new DataView(raw.buffer);
    t.data.int64.forEach((v, i) => dv.setBigInt64(i * 8, BigInt(v), true));
    p.bytes(9, raw);
  }
  return p;
}

function valueInfo(v: OnnxValueInfo): Pb {
  const shape = new Pb();
  for (const d of v.dims) shape.message(1, typeof d === 'number' ? new Pb().varint(1, d) : new Pb().string(2, d));
  const tensorType = new Pb().varint(1, v.elemType ?? DT_FLOAT).message(2, shape);
  return new Pb().string(1, v.name).message(2, new Pb().message(1, tensorType));
}

function nodeProto(n: OnnxNode): Pb {
  const p = new Pb();
  for (const i of n.inputs) p.string(1, i);
  for (const o of n.outputs) p.string(2, o);
  if (n.name) p.string(3, n.name);
  p.string(4, n.op);
  for (const [name, v] of Object.entries(n.attrs ?? {})) {
    const a = new Pb().string(1, name);
    if ('f' in v) a.float(2, v.f).varint(20, 1);
    else if ('i' in v) a.varint(3, v.i).varint(20, 2);
    else {
      for (const x of v.ints) a.varint(8, x);
      a.varint(20, 7);
    }
    p.message(5, a);
  }
  return p;
}

/** Serialises a ModelProto (default domain, one opset). */
export function encodeModel(graph: OnnxGraph, opts: { irVersion: number; opset: number; producer: string; producerVersion?: string }): Uint8Array {
  const g = new Pb();
  for (const n of graph.nodes) g.message(1, nodeProto(n));
  g.string(2, graph.name);
  for (const t of graph.initializers) g.message(5, tensorProto(t));
  for (const v of graph.inputs) g.message(11, valueInfo(v));
  for (const v of graph.outputs) g.message(12, valueInfo(v));
  const m = new Pb().varint(1, opts.irVersion).string(2, opts.producer);
  if (opts.producerVersion) m.string(3, opts.producerVersion);
  m.message(7, g);
  m.message(8, new Pb().string(1, '').varint(2, opts.opset));
  return m.finish();
}
