"""The scenes' shaders: one GLSL 1.50 program for lit, textured, shadowed, fogged surfaces, a
depth-only program for the sun's shadow pass, and a flat program for tag masks (tests).

Why our own rather than Panda3D's shader generator: in Panda3D 1.10 the generator emits Cg, and Cg
cannot compile on a headless EGL context (CI, the offscreen backend) or on a core-profile context,
so the scenes would render unlit there. These programs use only Panda3D's ``p3d_*`` GLSL inputs and
run the same on a desktop GPU, Mesa's llvmpipe and in the headset.

Per node, shader inputs switch features: ``u_unlit`` (sky, glows: colour as is), ``u_fog_on``,
``u_sway`` (grass that bends in the wind on the GPU: :func:`sway`).
The fade's colour scale is applied last, after fog, so a fade takes the fog and the sky to black too.
"""

from __future__ import annotations

from panda3d.core import NodePath, RenderState, Shader, ShaderAttrib, Vec2, Vec3, Vec4

__all__ = [
    "MAX_LIGHTS",
    "apply_scene_shader",
    "depth_state",
    "mask_state",
    "set_fog",
    "set_sway_clock",
    "sway",
    "unlit",
]

MAX_LIGHTS = 4

_VERT = """
#version 150
uniform mat4 p3d_ModelViewProjectionMatrix;
uniform mat4 p3d_ModelViewMatrix;
uniform mat3 p3d_NormalMatrix;
uniform mat4 p3d_TextureMatrix;
uniform vec4 u_sway;
uniform vec2 u_sway_clock;
in vec4 p3d_Vertex;
in vec3 p3d_Normal;
in vec4 p3d_Color;
in vec2 p3d_MultiTexCoord0;
out vec3 v_pos;
out vec3 v_normal;
out vec4 v_color;
out vec2 v_uv;
void main() {
    vec4 vertex = p3d_Vertex;
    vec3 normal = p3d_Normal;
    if (u_sway.x != 0.0) {
        // Bend about the node's own X axis (as setP would), swaying in time: see sway().
        float a = u_sway_clock.y * u_sway.x * (0.6 + 0.4 * sin(u_sway.y * u_sway_clock.x + u_sway.z));
        float c = cos(a), s = sin(a);
        vertex.yz = vec2(c * vertex.y - s * vertex.z, s * vertex.y + c * vertex.z);
        normal.yz = vec2(c * normal.y - s * normal.z, s * normal.y + c * normal.z);
    }
    gl_Position = p3d_ModelViewProjectionMatrix * vertex;
    v_pos = (p3d_ModelViewMatrix * vertex).xyz;
    v_normal = normalize(p3d_NormalMatrix * normal);
    v_color = p3d_Color;
    v_uv = (p3d_TextureMatrix * vec4(p3d_MultiTexCoord0, 0.0, 1.0)).xy;
}
"""

_FRAG = """
#version 150
#define MAX_LIGHTS %(max_lights)d
uniform struct {
    vec4 color;
    vec4 specular;
    vec4 position;
    vec3 attenuation;
    sampler2DShadow shadowMap;
    mat4 shadowViewMatrix;
} p3d_LightSource[MAX_LIGHTS];
uniform struct {
    vec4 ambient;
} p3d_LightModel;
uniform struct {
    vec4 ambient;
    vec4 diffuse;
    vec4 emission;
    vec3 specular;
    float shininess;
} p3d_Material;
uniform vec4 p3d_ColorScale;
uniform sampler2D p3d_Texture0;
uniform float u_unlit;
uniform float u_fog_on;
uniform vec3 u_fog_color;
uniform float u_fog_density;
uniform float u_shadow_caster;
in vec3 v_pos;
in vec3 v_normal;
in vec4 v_color;
in vec2 v_uv;
out vec4 o_color;

float shadow_at(int i, vec3 pos, vec3 n, vec3 l) {
    // Normal offset against acne on surfaces lit at grazing angles.
    vec4 coord = p3d_LightSource[i].shadowViewMatrix * vec4(pos + n * 0.01, 1.0);
    vec2 texel = vec2(1.0) / vec2(textureSize(p3d_LightSource[i].shadowMap, 0));
    float sum = 0.0;
    for (int x = -1; x <= 1; ++x) {
        for (int y = -1; y <= 1; ++y) {
            vec4 c = coord;
            c.xy += vec2(x, y) * texel * coord.w;
            sum += textureProj(p3d_LightSource[i].shadowMap, c);
        }
    }
    return sum / 9.0;
}

void main() {
    vec4 tex = texture(p3d_Texture0, v_uv);
    vec4 base = v_color * tex;
    vec3 rgb;
    if (u_unlit > 0.5) {
        rgb = base.rgb;
    } else {
        vec3 albedo = base.rgb * p3d_Material.diffuse.rgb;
        vec3 n = normalize(v_normal);
        if (!gl_FrontFacing) n = -n;
        vec3 v = normalize(-v_pos);
        vec3 light = p3d_LightModel.ambient.rgb;
        vec3 spec = vec3(0.0);
        for (int i = 0; i < MAX_LIGHTS; ++i) {
            vec4 lp = p3d_LightSource[i].position;
            vec3 lc = p3d_LightSource[i].color.rgb;
            if (dot(lc, lc) < 1e-8) continue;
            vec3 l;
            float att = 1.0;
            float shadow = 1.0;
            if (lp.w == 0.0) {
                l = normalize(lp.xyz);
                if (u_shadow_caster > 0.5) shadow = shadow_at(i, v_pos, n, l);
            } else {
                vec3 d = lp.xyz - v_pos;
                float dist = length(d);
                l = d / dist;
                vec3 a = p3d_LightSource[i].attenuation;
                att = 1.0 / max(a.x + a.y * dist + a.z * dist * dist, 1e-3);
            }
            float ndl = max(dot(n, l), 0.0);
            light += lc * ndl * att * shadow;
            vec3 h = normalize(l + v);
            float s = pow(max(dot(n, h), 0.0), max(p3d_Material.shininess, 1.0));
            spec += lc * s * att * shadow * ndl;
        }
        rgb = albedo * light + spec * p3d_Material.specular + p3d_Material.emission.rgb;
    }
    if (u_fog_on > 0.5) {
        float f = 1.0 - exp(-u_fog_density * length(v_pos));
        rgb = mix(rgb, u_fog_color, clamp(f, 0.0, 1.0));
    }
    o_color = vec4(rgb, base.a) * p3d_ColorScale;
}
"""

_DEPTH_VERT = """
#version 150
uniform mat4 p3d_ModelViewProjectionMatrix;
in vec4 p3d_Vertex;
void main() { gl_Position = p3d_ModelViewProjectionMatrix * p3d_Vertex; }
"""

_DEPTH_FRAG = """
#version 150
out vec4 o_color;
void main() { o_color = vec4(1.0); }
"""

_FLAT_FRAG = """
#version 150
uniform vec4 u_flat;
out vec4 o_color;
void main() { o_color = u_flat; }
"""

_shaders: dict[str, Shader] = {}


def _shader(name: str) -> Shader:
    shader = _shaders.get(name)
    if shader is None:
        if name == "scene":
            shader = Shader.make(Shader.SL_GLSL, _VERT, _FRAG % {"max_lights": MAX_LIGHTS})
        elif name == "depth":
            shader = Shader.make(Shader.SL_GLSL, _DEPTH_VERT, _DEPTH_FRAG)
        else:
            shader = Shader.make(Shader.SL_GLSL, _DEPTH_VERT, _FLAT_FRAG)
        _shaders[name] = shader
    return shader


def apply_scene_shader(root: NodePath, *, shadows: bool = True) -> None:
    """Shade everything under ``root`` with the scene program (default inputs: lit, fogged)."""
    root.setShader(_shader("scene"))
    root.setShaderInput("u_unlit", 0.0)
    root.setShaderInput("u_fog_on", 1.0)
    root.setShaderInput("u_fog_color", Vec3(0.5, 0.5, 0.5))
    root.setShaderInput("u_fog_density", 0.0)
    root.setShaderInput("u_shadow_caster", 1.0 if shadows else 0.0)
    root.setShaderInput("u_sway", Vec4(0.0, 0.0, 0.0, 0.0))
    root.setShaderInput("u_sway_clock", Vec2(0.0, 0.0))


def sway(node: NodePath, *, weight: float = 1.0, rate_rad_s: float, phase_rad: float) -> None:
    """Let ``node`` bend about its own X axis on the GPU, as ``node.setP(angle)`` would, with no
    per-frame work for it: ``angle = gain * weight * (0.6 + 0.4 * sin(rate * t + phase))``, where
    ``t`` and ``gain`` (radians) come from :func:`set_sway_clock` on an ancestor, once per frame for
    every swaying node (grass in the wind). The shadow pass does not bend (a tuft's shadow holds)."""
    node.setShaderInput("u_sway", Vec4(weight, rate_rad_s, phase_rad, 0.0))


def set_sway_clock(root: NodePath, t_s: float, gain_rad: float) -> None:
    """The time and the gain (radians) of every :func:`sway` node under ``root``."""
    root.setShaderInput("u_sway_clock", Vec2(t_s, gain_rad))


def set_fog(root: NodePath, color: Vec3 | tuple[float, float, float], density: float) -> None:
    root.setShaderInput("u_fog_color", Vec3(*color))
    root.setShaderInput("u_fog_density", density)


def unlit(node: NodePath, *, fog: bool = False) -> None:
    """Draw ``node`` in its own colour (sky, sun, glowing bulbs), fogged only if asked."""
    node.setShaderInput("u_unlit", 1.0)
    node.setShaderInput("u_fog_on", 1.0 if fog else 0.0)


def depth_state() -> RenderState:
    """Initial state for a shadow camera: depth only, overriding the scene's program."""
    return RenderState.make(ShaderAttrib.make(_shader("depth"), 10_000))


def mask_state(rgba: tuple[float, float, float, float], override: int = 10_000) -> RenderState:
    """Flat colour, overriding every program and colour (tag masks); a tag state passes a higher
    ``override`` than the camera's initial state."""
    attrib = ShaderAttrib.make(_shader("flat"), override).setShaderInput("u_flat", Vec4(*rgba))
    return RenderState.make(attrib, override)
