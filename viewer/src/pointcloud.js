// The point cloud of the 3D view: a MapLibre custom layer drawing the points the server
// decimated (/api/pointcloud/<tile>.bin, see jnft/viewer/pointcloud.py) with WebGL, at their
// altitude, coloured by ASPRS class. Nothing but MapLibre: no decoder fetched at run time.

const HALF_WORLD = 20037508.342789244; // half the web-mercator world's width, in metres

// ASPRS classes as IGN's LiDAR HD uses them; others in grey.
export const CLASS_COLOURS = {
  1: [170, 170, 170], // unclassified
  2: [181, 136, 84], // ground
  3: [163, 209, 96], // low vegetation
  4: [92, 178, 72], // medium vegetation
  5: [34, 120, 60], // high vegetation
  6: [230, 80, 160], // building
  9: [40, 110, 230], // water
  17: [250, 200, 60], // bridge deck
  66: [0, 200, 200], // virtual points
};
const OTHER = [120, 120, 120];
export const CLASS_NAMES = {
  2: "sol", 3: "végétation basse", 4: "végétation moyenne", 5: "végétation haute", 6: "bâti", 9: "eau",
};

/** The points of one tile: origin (web-mercator metres), positions, classes. */
export async function fetchCloud(path) {
  const response = await fetch(path);
  if (!response.ok) throw new Error(`${path}: ${response.status}`);
  const buffer = await response.arrayBuffer();
  const count = (buffer.byteLength - 16) / 13;
  const origin = new Float64Array(buffer, 0, 2);
  const positions = new Float32Array(buffer, 16, count * 3);
  const classes = new Uint8Array(buffer, 16 + count * 12, count);
  return { origin: [origin[0], origin[1]], positions, classes, count };
}

const VERTEX = `
attribute vec3 a_pos;
attribute vec3 a_colour;
uniform mat4 u_matrix;
uniform float u_size;
varying vec3 v_colour;
void main() {
  gl_Position = u_matrix * vec4(a_pos, 1.0);
  gl_PointSize = u_size;
  v_colour = a_colour;
}`;
const FRAGMENT = `
precision mediump float;
varying vec3 v_colour;
void main() { gl_FragColor = vec4(v_colour, 1.0); }`;

function compile(gl, type, source) {
  const shader = gl.createShader(type);
  gl.shaderSource(shader, source);
  gl.compileShader(shader);
  if (!gl.getShaderParameter(shader, gl.COMPILE_STATUS)) throw new Error(gl.getShaderInfoLog(shader));
  return shader;
}

// column-major 4×4 product a × b, in float64 (the matrix MapLibre hands over is float64).
function multiply(a, b) {
  const out = new Float64Array(16);
  for (let col = 0; col < 4; col++) {
    for (let row = 0; row < 4; row++) {
      let sum = 0;
      for (let k = 0; k < 4; k++) sum += a[k * 4 + row] * b[col * 4 + k];
      out[col * 4 + row] = sum;
    }
  }
  return out;
}

// From a tile's metres (from its origin, y north) to mercator units (0..1, y south): the
// origin is added here in float64, so that float32 positions stay precise to the millimetre.
function tileToMercator([ox, oy]) {
  const s = 1 / (2 * HALF_WORLD);
  return Float64Array.from([s, 0, 0, 0, 0, -s, 0, 0, 0, 0, s, 0, (ox + HALF_WORLD) * s, (HALF_WORLD - oy) * s, 0, 1]);
}

export function pointCloudLayer(clouds, pointSize = 2.5) {
  let program, locations, buffers;
  return {
    id: "pointcloud",
    type: "custom",
    renderingMode: "3d",
    onAdd(map, gl) {
      program = gl.createProgram();
      gl.attachShader(program, compile(gl, gl.VERTEX_SHADER, VERTEX));
      gl.attachShader(program, compile(gl, gl.FRAGMENT_SHADER, FRAGMENT));
      gl.linkProgram(program);
      locations = {
        pos: gl.getAttribLocation(program, "a_pos"),
        colour: gl.getAttribLocation(program, "a_colour"),
        matrix: gl.getUniformLocation(program, "u_matrix"),
        size: gl.getUniformLocation(program, "u_size"),
      };
      buffers = clouds.map((cloud) => {
        const colours = new Float32Array(cloud.count * 3);
        cloud.classes.forEach((c, i) => colours.set((CLASS_COLOURS[c] || OTHER).map((v) => v / 255), i * 3));
        const pos = gl.createBuffer();
        gl.bindBuffer(gl.ARRAY_BUFFER, pos);
        gl.bufferData(gl.ARRAY_BUFFER, cloud.positions, gl.STATIC_DRAW);
        const colour = gl.createBuffer();
        gl.bindBuffer(gl.ARRAY_BUFFER, colour);
        gl.bufferData(gl.ARRAY_BUFFER, colours, gl.STATIC_DRAW);
        return { pos, colour, count: cloud.count, toMercator: tileToMercator(cloud.origin) };
      });
    },
    render(gl, args) {
      gl.useProgram(program);
      gl.enable(gl.DEPTH_TEST);
      gl.depthFunc(gl.LEQUAL);
      gl.uniform1f(locations.size, pointSize);
      for (const b of buffers) {
        const matrix = multiply(args.defaultProjectionData.mainMatrix, b.toMercator);
        gl.uniformMatrix4fv(locations.matrix, false, Float32Array.from(matrix));
        gl.bindBuffer(gl.ARRAY_BUFFER, b.pos);
        gl.enableVertexAttribArray(locations.pos);
        gl.vertexAttribPointer(locations.pos, 3, gl.FLOAT, false, 0, 0);
        gl.bindBuffer(gl.ARRAY_BUFFER, b.colour);
        gl.enableVertexAttribArray(locations.colour);
        gl.vertexAttribPointer(locations.colour, 3, gl.FLOAT, false, 0, 0);
        gl.drawArrays(gl.POINTS, 0, b.count);
      }
      gl.disableVertexAttribArray(locations.pos);
      gl.disableVertexAttribArray(locations.colour);
    },
    onRemove(map, gl) {
      for (const b of buffers) { gl.deleteBuffer(b.pos); gl.deleteBuffer(b.colour); }
      gl.deleteProgram(program);
    },
  };
}
