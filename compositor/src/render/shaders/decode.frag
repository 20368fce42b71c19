#version 100

//_DEFINES_

#if defined(EXTERNAL)
#extension GL_OES_EGL_image_external : require
#endif

// Decodes a surface's pixels into the output's blending space: linear light in the
// output's primaries, 1.0 = the output's reference white. Mirrors ghost_hdr::Pipeline
// (decode): linearise, scale, BT.2390 tone map, matrix, soft gamut compression.

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

uniform int tf;          // 0 sRGB, 1 ext sRGB, 2 power, 3 ext linear, 4 PQ, 5 HLG
uniform float tf_param;  // power exponent, or the HLG display peak
uniform float nits_at_one;
uniform float lum_scale;
uniform int tone_map;
uniform vec4 eetf;       // source black (PQ), source span (PQ), min_lum, max_lum
uniform float eetf_knee;
uniform mat3 conversion;
uniform int compress;
uniform vec3 compress_scale;
uniform float blend_scale;

const float PQ_M1 = 0.1593017578125;
const float PQ_M2 = 78.84375;
const float PQ_C1 = 0.8359375;
const float PQ_C2 = 18.8515625;
const float PQ_C3 = 18.6875;

float pq_eotf(float e) {
    float p = pow(clamp(e, 0.0, 1.0), 1.0 / PQ_M2);
    return 10000.0 * pow(max(p - PQ_C1, 0.0) / (PQ_C2 - PQ_C3 * p), 1.0 / PQ_M1);
}

float pq_inverse(float nits) {
    float y = pow(clamp(nits / 10000.0, 0.0, 1.0), PQ_M1);
    return pow((PQ_C1 + PQ_C2 * y) / (1.0 + PQ_C3 * y), PQ_M2);
}

float srgb_eotf(float v) {
    float a = abs(v);
    float l = a <= 0.04045 ? a / 12.92 : pow((a + 0.055) / 1.055, 2.4);
    return sign(v) * l;
}

float hlg_inverse_oetf(float v) {
    v = clamp(v, 0.0, 1.0);
    return v <= 0.5 ? v * v / 3.0 : (exp((v - 0.55991072953) / 0.17883277) + 0.28466892) / 12.0;
}

vec3 linearise(vec3 c) {
    if (tf == 0) {
        c = clamp(c, 0.0, 1.0);
        return vec3(srgb_eotf(c.r), srgb_eotf(c.g), srgb_eotf(c.b)) * nits_at_one;
    } else if (tf == 1) {
        return vec3(srgb_eotf(c.r), srgb_eotf(c.g), srgb_eotf(c.b)) * nits_at_one;
    } else if (tf == 2) {
        return pow(clamp(c, 0.0, 1.0), vec3(tf_param)) * nits_at_one;
    } else if (tf == 3) {
        return c * nits_at_one;
    } else if (tf == 4) {
        return vec3(pq_eotf(c.r), pq_eotf(c.g), pq_eotf(c.b));
    }
    vec3 scene = vec3(hlg_inverse_oetf(c.r), hlg_inverse_oetf(c.g), hlg_inverse_oetf(c.b));
    float ys = dot(vec3(0.2627, 0.6780, 0.0593), scene);
    float gamma = 1.2 + 0.42 * log(max(tf_param, 1.0) / 1000.0) / log(10.0);
    return ys > 0.0 ? scene * tf_param * pow(ys, gamma - 1.0) : vec3(0.0);
}

float eetf_apply(float nits) {
    float e1 = clamp((pq_inverse(nits) - eetf.x) / eetf.y, 0.0, 1.0);
    float e2 = e1;
    if (e1 >= eetf_knee && eetf_knee < 1.0) {
        float t = (e1 - eetf_knee) / (1.0 - eetf_knee);
        float t2 = t * t;
        float t3 = t2 * t;
        e2 = (2.0 * t3 - 3.0 * t2 + 1.0) * eetf_knee + (t3 - 2.0 * t2 + t) * (1.0 - eetf_knee)
            + (-2.0 * t3 + 3.0 * t2) * eetf.w;
    }
    float e3 = e2 + eetf.z * pow(1.0 - e2, 4.0);
    return pq_eotf(e3 * eetf.y + eetf.x);
}

float compress_distance(float d, float s) {
    if (d < 0.8) {
        return d;
    }
    float x = (d - 0.8) / s;
    return 0.8 + s * x / pow(1.0 + pow(x, 1.2), 1.0 / 1.2);
}

vec3 gamut_compress(vec3 c) {
    float ach = max(c.r, max(c.g, c.b));
    if (ach <= 0.0) {
        return c;
    }
    vec3 d = (vec3(ach) - c) / ach;
    return vec3(ach) - vec3(compress_distance(d.r, compress_scale.r),
                            compress_distance(d.g, compress_scale.g),
                            compress_distance(d.b, compress_scale.b)) * ach;
}

void main() {
    vec4 color = texture2D(tex, v_coords);
#if defined(NO_ALPHA)
    color.a = 1.0;
#endif
    vec3 rgb = color.a > 0.0 ? color.rgb / color.a : vec3(0.0);
    rgb = linearise(rgb) * lum_scale;
    if (tone_map == 1) {
        rgb = vec3(eetf_apply(max(rgb.r, 0.0)), eetf_apply(max(rgb.g, 0.0)), eetf_apply(max(rgb.b, 0.0)));
    }
    rgb = conversion * rgb;
    if (compress == 1) {
        rgb = gamut_compress(rgb);
    }
    rgb *= blend_scale;
    color = vec4(rgb * color.a, color.a) * alpha;

#if defined(DEBUG_FLAGS)
    if (tint == 1.0)
        color = vec4(0.0, 0.2, 0.0, 0.2) + color * 0.8;
#endif

    gl_FragColor = color;
}
