#version 100

//_DEFINES_

#if defined(EXTERNAL)
#extension GL_OES_EGL_image_external : require
#endif

// Packs an output's signal (non-linear R'G'B') into the bytes of an NV12 or P010 plane,
// for video encoders. Mirrors ghost_hdr::ycbcr: luma and colour differences through the
// signal's matrix (Kr, Kb), then narrow-range code values, rounded. Each fragment of
// the RGBA8 target writes four bytes of the plane:
//   NV12 luma:   4 samples (Y0 Y1 Y2 Y3)            target W/4 x H
//   NV12 chroma: 2 sites   (Cb0 Cr0 Cb1 Cr1)        target W/4 x H/2
//   P010 luma:   2 samples (lo hi lo hi, value<<6)  target W/2 x H
//   P010 chroma: 1 site    (Cb lo hi, Cr lo hi)     target W/2 x H/2
// Chroma is the matrix applied to the mean R'G'B' of the site's 2x2 pixels.

#ifdef GL_FRAGMENT_PRECISION_HIGH
precision highp float;
#else
precision mediump float;
#endif

#if defined(EXTERNAL)
uniform samplerExternalOES tex;
#else
uniform sampler2D tex;
#endif

uniform float alpha;
varying vec2 v_coords;

#if defined(DEBUG_FLAGS)
uniform float tint;
#endif

uniform vec2 src_size;   // source pixels (even)
uniform int chroma;      // 0: the luma plane, 1: the chroma plane
uniform int ten_bit;     // 0: NV12, 1: P010
uniform float kr;
uniform float kb;

vec3 rgb_at(float x, float y) {
    return clamp(texture2D(tex, vec2((x + 0.5) / src_size.x, (y + 0.5) / src_size.y)).rgb, 0.0, 1.0);
}

float luma(vec3 c) {
    return kr * c.r + (1.0 - kr - kb) * c.g + kb * c.b;
}

// A code value at the plane's depth.
float code(float v, float scale, float offset) {
    float c = (scale * v + offset) * (ten_bit == 1 ? 4.0 : 1.0);
    return floor(c + 0.5);
}

vec2 bytes16(float c) {
    float v = c * 64.0;
    float hi = floor(v / 256.0);
    return vec2(v - hi * 256.0, hi) / 255.0;
}

vec2 cbcr(float sx, float sy) {
    vec3 m = (rgb_at(2.0 * sx, 2.0 * sy) + rgb_at(2.0 * sx + 1.0, 2.0 * sy)
        + rgb_at(2.0 * sx, 2.0 * sy + 1.0) + rgb_at(2.0 * sx + 1.0, 2.0 * sy + 1.0)) * 0.25;
    float y = luma(m);
    return vec2(
        code((m.b - y) / (2.0 * (1.0 - kb)), 224.0, 128.0),
        code((m.r - y) / (2.0 * (1.0 - kr)), 224.0, 128.0)
    );
}

void main() {
    float per = ten_bit == 1 ? 2.0 : 4.0;
    float rows = chroma == 1 ? src_size.y * 0.5 : src_size.y;
    float gx = floor(v_coords.x * src_size.x / per);
    float row = floor(v_coords.y * rows);
    vec4 out_bytes;
    if (chroma == 0) {
        if (ten_bit == 1) {
            float y0 = code(luma(rgb_at(2.0 * gx, row)), 219.0, 16.0);
            float y1 = code(luma(rgb_at(2.0 * gx + 1.0, row)), 219.0, 16.0);
            out_bytes = vec4(bytes16(y0), bytes16(y1));
        } else {
            out_bytes = vec4(
                code(luma(rgb_at(4.0 * gx, row)), 219.0, 16.0),
                code(luma(rgb_at(4.0 * gx + 1.0, row)), 219.0, 16.0),
                code(luma(rgb_at(4.0 * gx + 2.0, row)), 219.0, 16.0),
                code(luma(rgb_at(4.0 * gx + 3.0, row)), 219.0, 16.0)
            ) / 255.0;
        }
    } else {
        if (ten_bit == 1) {
            vec2 c = cbcr(gx, row);
            out_bytes = vec4(bytes16(c.x), bytes16(c.y));
        } else {
            vec2 c0 = cbcr(2.0 * gx, row);
            vec2 c1 = cbcr(2.0 * gx + 1.0, row);
            out_bytes = vec4(c0, c1) / 255.0;
        }
    }
    gl_FragColor = out_bytes;
}
