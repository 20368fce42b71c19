#!/usr/bin/env python3
"""Scores cleaned speech against its clean reference, for the voice tests.

  score.py --reference DIR --estimate DIR [--input DIR]

For every WAV in the estimate folder (48 kHz mono), the same name in the reference
folder is the clean speech and, with --input, in the input folder the unprocessed
signal. Prints one JSON object: per file, wide-band PESQ (ITU-T P.862.2 via PyPI
`pesq`, on 16 kHz copies), STOI (PyPI `pystoi`), SI-SDR in dB, the lag removed and,
with --input, how much quieter the first second became. A constant delay of up to
60 ms is found by cross-correlation and taken out first.
"""
import argparse
import json
import os
import sys
import wave

import numpy as np
from pesq import pesq
from pystoi import stoi
from scipy.signal import correlate, resample_poly

RATE = 48000


def read(path):
    with wave.open(path, "rb") as w:
        if w.getframerate() != RATE or w.getnchannels() != 1 or w.getsampwidth() != 2:
            sys.exit(f"{path}: not 48 kHz mono 16-bit")
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2") / 32768.0


def align(reference, estimate, most):
    n = min(len(reference), len(estimate))
    c = correlate(estimate[:n], reference[:n], mode="full", method="fft")
    middle = n - 1
    lag = int(np.argmax(c[middle - most:middle + most + 1])) - most
    shifted = np.roll(np.concatenate([estimate, np.zeros(abs(lag))]), -lag)[:len(estimate)]
    if lag < 0:
        shifted[:-lag] = 0.0
    out = np.zeros(len(reference))
    out[:min(len(reference), len(shifted))] = shifted[:len(reference)]
    return out, lag


def si_sdr(reference, estimate):
    r = reference - reference.mean()
    e = estimate - estimate.mean()
    target = np.dot(e, r) / (np.dot(r, r) + 1e-20) * r
    error = e - target
    return 10 * np.log10((np.dot(target, target) + 1e-20) / (np.dot(error, error) + 1e-20))


def main():
    args = argparse.ArgumentParser()
    args.add_argument("--reference", required=True)
    args.add_argument("--estimate", required=True)
    args.add_argument("--input")
    a = args.parse_args()
    scores = {}
    for name in sorted(os.listdir(a.estimate)):
        if not name.endswith(".wav"):
            continue
        reference = read(os.path.join(a.reference, name))
        estimate, lag = align(reference, read(os.path.join(a.estimate, name)), RATE * 60 // 1000)
        row = {
            "lag": lag,
            "pesq_wb": float(pesq(16000, resample_poly(reference, 1, 3), resample_poly(estimate, 1, 3), "wb")),
            "stoi": float(stoi(reference, estimate, RATE, extended=False)),
            "si_sdr": float(si_sdr(reference, estimate)),
        }
        if a.input:
            noisy = read(os.path.join(a.input, name))[:RATE]
            row["lead_in_db"] = float(10 * np.log10((np.mean(noisy ** 2) + 1e-12) / (np.mean(estimate[:RATE] ** 2) + 1e-12)))
        scores[name[:-4]] = row
    json.dump(scores, sys.stdout, indent=1)


if __name__ == "__main__":
    main()
