import { execFileSync } from "node:child_process";
import { cudaAvailable } from "../compute/index.ts";
import { MIB_PER_GIB, VRAM_MIB_MAX } from "./constants.ts";
import { MarketError } from "./errors.ts";
import type { DeviceKind } from "./model-ref.ts";

/**
 * The device a provider declares on chain: detected where possible,
 * declared otherwise. CUDA counts as present when compute/ can start a
 * session on it (its provider library is installed); its memory comes
 * from `nvidia-smi` (the first GPU), or from the operator (--vram-gb).
 */
export interface DetectedDevice {
  readonly device: DeviceKind;
  readonly vramMib: number;
  /** Where the VRAM figure came from. */
  readonly vramSource: "none" | "declared" | "nvidia-smi";
}

/** nvidia-smi answers in well under a second; past two it is hung and the figure is unknown. */
const NVIDIA_SMI_TIMEOUT_MS = 2_000;

/** Total memory of the first GPU in MiB, or null when nvidia-smi is absent or fails. */
export function nvidiaSmiVramMib(): number | null {
  try {
    const out = execFileSync("nvidia-smi", ["--query-gpu=memory.total", "--format=csv,noheader,nounits"], {
      timeout: NVIDIA_SMI_TIMEOUT_MS,
      stdio: ["ignore", "pipe", "ignore"],
      encoding: "utf8",
    });
    const first = Number.parseInt(out.trim().split("\n")[0] ?? "", 10);
    return Number.isSafeInteger(first) && first > 0 && first <= VRAM_MIB_MAX ? first : null;
  } catch {
    return null;
  }
}

export function detectDevice(
  requested: DeviceKind | "auto",
  declaredVramGb?: number,
  probes: { cuda: () => boolean; vramMib: () => number | null } = {
    cuda: cudaAvailable,
    vramMib: nvidiaSmiVramMib,
  },
): DetectedDevice {
  if (declaredVramGb !== undefined && !(Number.isFinite(declaredVramGb) && declaredVramGb > 0)) {
    throw new MarketError("BAD_DEVICE", "--vram-gb must be a positive number", { declaredVramGb });
  }
  // A CPU machine may declare memory for routing (a test, or a CPU host standing in for a GPU one).
  const onCpu: DetectedDevice =
    declaredVramGb === undefined
      ? { device: "cpu", vramMib: 0, vramSource: "none" }
      : {
          device: "cpu",
          vramMib: Math.min(VRAM_MIB_MAX, Math.round(declaredVramGb * MIB_PER_GIB)),
          vramSource: "declared",
        };
  if (requested === "cpu") return onCpu;
  const cuda = probes.cuda();
  if (!cuda) {
    if (requested === "cuda") {
      throw new MarketError("BAD_DEVICE", "cuda was asked for but onnxruntime cannot run on it here", {});
    }
    return onCpu;
  }
  if (declaredVramGb !== undefined) {
    return {
      device: "cuda",
      vramMib: Math.min(VRAM_MIB_MAX, Math.round(declaredVramGb * MIB_PER_GIB)),
      vramSource: "declared",
    };
  }
  const detected = probes.vramMib();
  if (detected === null) {
    throw new MarketError("BAD_DEVICE", "cannot detect the GPU's memory: declare it with --vram-gb", {});
  }
  return { device: "cuda", vramMib: detected, vramSource: "nvidia-smi" };
}
