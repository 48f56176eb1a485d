import { CodecError, DIGEST_BYTES, type Encodable, FieldReader, toHex } from "../spec/index.ts";
import { MODEL_NAME_BYTES_MAX, PROVIDER_MODELS_MAX } from "./constants.ts";

/**
 * A model as the market names it: its content hash (sha256 of the model
 * file, what compute/ checks against the manifest) and a display name. The
 * hash is the identity; the name is what OpenAI clients put in `model`.
 */
export interface ModelRef {
  readonly hash: Uint8Array;
  readonly name: string;
}

export type DeviceKind = "cpu" | "cuda";
export const DEVICE_KINDS: readonly DeviceKind[] = ["cpu", "cuda"];

export type PodRole = "member" | "admin";
export const POD_ROLES: readonly PodRole[] = ["member", "admin"];

const MODEL_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:/-]*$/;

export function isModelName(name: string): boolean {
  return name.length > 0 && Buffer.byteLength(name) <= MODEL_NAME_BYTES_MAX && MODEL_NAME_PATTERN.test(name);
}

export function modelRefValue(model: ModelRef): Encodable {
  return [model.hash, model.name];
}

export function readModelRef(value: unknown, type: string): ModelRef {
  const reader = FieldReader.of(type, value, 2);
  const hash = reader.bytes("hash", { exact: DIGEST_BYTES });
  const name = reader.string("name", MODEL_NAME_BYTES_MAX);
  if (!isModelName(name)) throw new CodecError("OUT_OF_RANGE", `${type}.name: not a model name`, { type });
  return { hash, name };
}

/** A list of models with distinct hashes, in the order given. */
export function readModelRefs(reader: FieldReader, field: string, type: string): ModelRef[] {
  const items = reader.array(field, PROVIDER_MODELS_MAX);
  const models = items.map((item, i) => readModelRef(item, `${type}.${field}[${i}]`));
  const seen = new Set(models.map((m) => toHex(m.hash)));
  if (seen.size !== models.length) {
    throw new CodecError("OUT_OF_RANGE", `${type}.${field}: a model is listed twice`, { type, field });
  }
  return models;
}

/** Reads one of a closed set of strings. */
export function readChoice<T extends string>(
  reader: FieldReader,
  field: string,
  choices: readonly T[],
  type: string,
): T {
  const value = reader.string(field, 16);
  if (!(choices as readonly string[]).includes(value)) {
    throw new CodecError("OUT_OF_RANGE", `${type}.${field}: ${JSON.stringify(value)} not allowed`, {
      type,
      field,
    });
  }
  return value as T;
}

/** Finds a model by name or by hex content hash. */
export function matchesModel(model: ModelRef, nameOrHash: string): boolean {
  return model.name === nameOrHash || toHex(model.hash) === nameOrHash.toLowerCase();
}
