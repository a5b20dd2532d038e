/**
 * Reading what `model.save(dir)` wrote, as JSON and bytes, and as TensorFlow.js artifacts
 * for `tf.io.fromMemory`.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import type * as rk from '../../lib';

export function readArtifacts(dir: string): { json: rk.ModelJson; data: ArrayBuffer } {
  const json = JSON.parse(readFileSync(path.join(dir, 'model.json'), 'utf8')) as rk.ModelJson;
  const buf = readFileSync(path.join(dir, 'weights.bin'));
  return { json, data: buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer };
}

/** rnnkit's files as tfjs artifacts for tf.io.fromMemory. */
export function tfjsArtifacts(dir: string): tf.io.ModelArtifacts {
  const { json, data } = readArtifacts(dir);
  return {
    modelTopology: json.modelTopology as unknown as tf.io.ModelArtifacts['modelTopology'],
    weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
    weightData: data,
    format: json.format,
    generatedBy: json.generatedBy,
    convertedBy: json.convertedBy,
  };
}
