/**
 * A small builder for ONNX graphs, written over the `onnx-proto` protobuf
 * bindings. The model graphs of this layer (forward pass, training step) are
 * written in TypeScript with it and serialised to bytes that onnxruntime
 * loads. Serialisation is deterministic: the same calls give the same bytes.
 */
import onnxProto from "onnx-proto";
import { assert } from "../../spec/index.ts";

const { onnx } = onnxProto;

/** ONNX IR version 8 (onnx 1.10), the newest that onnx-proto 8 describes; onnxruntime 1.30 reads it. */
export const ONNX_IR_VERSION = 8;
/** Default-domain opset 13: ReduceSum takes its axes as an input, Unsqueeze too. */
export const ONNX_OPSET = 13;

export type ElementType = "float32" | "float64" | "int32" | "int64" | "bool";

const DATA_TYPE: Record<ElementType, number> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  float64: onnx.TensorProto.DataType.DOUBLE,
  int32: onnx.TensorProto.DataType.INT32,
  int64: onnx.TensorProto.DataType.INT64,
  bool: onnx.TensorProto.DataType.BOOL,
};

/** The ONNX enum value of an element type, as the `to` attribute of Cast wants it. */
export function onnxDataType(type: ElementType): number {
  return DATA_TYPE[type];
}

/** A dimension is a fixed size or a named symbolic one ("batch"). */
export type Dimension = number | string;

export type Attribute =
  | { readonly int: number }
  | { readonly ints: readonly number[] }
  | { readonly float: number }
  | { readonly string: string };

export type TensorData = Float32Array | Float64Array | Int32Array | BigInt64Array;

function elementTypeOf(data: TensorData): ElementType {
  if (data instanceof Float32Array) return "float32";
  if (data instanceof Float64Array) return "float64";
  if (data instanceof Int32Array) return "int32";
  return "int64";
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function valueInfo(name: string, type: ElementType, shape: readonly Dimension[] | null) {
  return onnx.ValueInfoProto.create({
    name,
    type: {
      tensorType: {
        elemType: DATA_TYPE[type],
        ...(shape === null
          ? {}
          : {
              shape: { dim: shape.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })) },
            }),
      },
    },
  });
}

function attributeProto(name: string, value: Attribute) {
  const { AttributeType } = onnx.AttributeProto;
  if ("int" in value) {
    assert(Number.isSafeInteger(value.int), `attribute ${name} must be an integer`);
    return onnx.AttributeProto.create({ name, type: AttributeType.INT, i: value.int });
  }
  if ("ints" in value)
    return onnx.AttributeProto.create({ name, type: AttributeType.INTS, ints: [...value.ints] });
  if ("float" in value)
    return onnx.AttributeProto.create({ name, type: AttributeType.FLOAT, f: value.float });
  return onnx.AttributeProto.create({
    name,
    type: AttributeType.STRING,
    s: new TextEncoder().encode(value.string),
  });
}

export class GraphBuilder {
  private readonly nodes: ReturnType<typeof onnx.NodeProto.create>[] = [];
  private readonly inputs: ReturnType<typeof onnx.ValueInfoProto.create>[] = [];
  private readonly outputs: ReturnType<typeof onnx.ValueInfoProto.create>[] = [];
  private readonly initializers: ReturnType<typeof onnx.TensorProto.create>[] = [];
  private readonly names = new Set<string>();
  private counter = 0;

  constructor(private readonly graphName: string) {}

  private claim(name: string): string {
    assert(!this.names.has(name), `graph value name used twice: ${name}`);
    this.names.add(name);
    return name;
  }

  /** A fresh value name with a readable prefix. */
  private fresh(prefix: string): string {
    let name: string;
    do name = `${prefix}_${this.counter++}`;
    while (this.names.has(name));
    return this.claim(name);
  }

  /** Declares a graph input and returns its name. */
  input(name: string, type: ElementType, shape: readonly Dimension[]): string {
    this.inputs.push(valueInfo(this.claim(name), type, shape));
    return name;
  }

  /** Declares `value` as a graph output; the shape is optional (onnxruntime infers it). */
  output(value: string, type: ElementType, shape: readonly Dimension[] | null = null): void {
    assert(this.names.has(value), `graph output of an unknown value: ${value}`);
    this.outputs.push(valueInfo(value, type, shape));
  }

  /** A tensor stored in the model file (a weight or a constant). Returns its name. */
  initializer(name: string | null, dims: readonly number[], data: TensorData): string {
    const size = dims.reduce((a, b) => a * b, 1);
    assert(size === data.length, `initializer ${name}: ${data.length} values for dims [${dims.join(",")}]`);
    assert(LITTLE_ENDIAN, "ONNX raw tensor data is little-endian; this host is not");
    const finalName = name === null ? this.fresh("const") : this.claim(name);
    this.initializers.push(
      onnx.TensorProto.create({
        name: finalName,
        dims: [...dims],
        dataType: DATA_TYPE[elementTypeOf(data)],
        rawData: new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)),
      }),
    );
    return finalName;
  }

  /** A 1-D int64 constant (shapes and axes). */
  int64s(values: readonly number[]): string {
    return this.initializer(null, [values.length], BigInt64Array.from(values.map((v) => BigInt(v))));
  }

  /** A scalar constant of a float type. */
  scalar(type: "float32" | "float64", value: number): string {
    return this.initializer(null, [], type === "float32" ? Float32Array.of(value) : Float64Array.of(value));
  }

  /** Adds one node with one output and returns the output's name. */
  op(
    opType: string,
    inputs: readonly string[],
    attributes: Readonly<Record<string, Attribute>> = {},
    outputName: string | null = null,
  ): string {
    for (const input of inputs)
      assert(input === "" || this.names.has(input), `${opType}: unknown input ${input}`);
    const output = outputName === null ? this.fresh(opType.toLowerCase()) : this.claim(outputName);
    this.nodes.push(
      onnx.NodeProto.create({
        opType,
        name: `${opType}:${output}`,
        input: [...inputs],
        output: [output],
        attribute: Object.entries(attributes).map(([key, value]) => attributeProto(key, value)),
      }),
    );
    return output;
  }

  /** Serialises the model. `metadata` lands in the model's metadata_props, sorted by key. */
  build(metadata: Readonly<Record<string, string>> = {}): Uint8Array {
    assert(this.outputs.length > 0, "a graph needs at least one output");
    const model = onnx.ModelProto.create({
      irVersion: ONNX_IR_VERSION,
      opsetImport: [{ domain: "", version: ONNX_OPSET }],
      producerName: "hyperspace",
      producerVersion: "1",
      graph: onnx.GraphProto.create({
        name: this.graphName,
        node: this.nodes,
        input: this.inputs,
        output: this.outputs,
        initializer: this.initializers,
      }),
      metadataProps: Object.keys(metadata)
        .sort()
        .map((key) => ({ key, value: metadata[key] })),
    });
    return onnx.ModelProto.encode(model).finish();
  }
}

/** Reads the metadata_props of a serialised model without building a session. */
export function readModelMetadata(bytes: Uint8Array): Record<string, string> {
  const model = onnx.ModelProto.decode(bytes);
  const result: Record<string, string> = {};
  for (const prop of model.metadataProps) {
    if (typeof prop.key === "string" && typeof prop.value === "string") result[prop.key] = prop.value;
  }
  return result;
}
