#version 100

//_DEFINES_

#if defined(EXTERNAL)
#extension GL_OES_EGL_image_external : require
#endif

// Encodes the blending space (linear, 1.0 = reference white) into the output's signal.
// Mirrors ghost_hdr::Pipeline (encode).

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

uniform int tf;           // 0 sRGB (clipped), 2 power, 4 PQ
uniform float tf_param;
uniform float nits_at_one;
uniform float reference;

float srgb_inverse(float l) {
    l = clamp(l, 0.0, 1.0);
    return l <= 0.0031308 ? 12.92 * l : 1.055 * pow(l, 1.0 / 2.4) - 0.055;
}

float pq_inverse(float nits) {
    float y = pow(clamp(nits / 10000.0, 0.0, 1.0), 0.1593017578125);
    return pow((0.8359375 + 18.8515625 * y) / (1.0 + 18.6875 * y), 78.84375);
}

void main() {
    vec4 color = texture2D(tex, v_coords);
    vec3 nits = color.rgb * reference;
    vec3 signal;
    if (tf == 4) {
        signal = vec3(pq_inverse(nits.r), pq_inverse(nits.g), pq_inverse(nits.b));
    } else if (tf == 2) {
        signal = pow(clamp(nits / nits_at_one, 0.0, 1.0), vec3(1.0 / tf_param));
    } else {
        vec3 r = nits / nits_at_one;
        signal = vec3(srgb_inverse(r.r), srgb_inverse(r.g), srgb_inverse(r.b));
    }
    gl_FragColor = vec4(signal, 1.0) * alpha;
}
