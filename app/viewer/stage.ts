'use client';
// Client side: the three.js stage of the viewer. One WebGLRenderer on the viewer canvas, an
// IntrinsicsCamera whose projection is the pinhole model the server renders with (so 3D
// overlays line up with the frame), OrbitControls, and the streamed frame drawn by
// shaders/frame.{vert,frag} on a full-screen quad behind all 3D content.
//
// Label overlay: each frame's [H,W] label indices go to a single-channel R8 texture (NEAREST,
// UNPACK_ALIGNMENT 1) and a 256x1 RGBA palette maps index -> colour + opacity; frame.frag fills
// and outlines the labels. Changing colours or visibility re-uploads only the 1 KiB palette.
//
// Others in the room (presence.ts): a small wireframe frustum per user with a camera, in their
// colour. 3D content is drawn with the camera the frame on screen was requested with (not the
// one the user is moving right now), so it stays on the picture while a new frame is on its way.
//
// Sizes: the canvas' drawing buffer is exactly the camera's width x height in device pixels
// (renderSize: CSS size x devicePixelRatio capped at 2, sides <= 4096); the CSS size fills the
// viewer area.
import {
  BufferAttribute,
  BufferGeometry,
  Color,
  DataTexture,
  GLSL3,
  LinearFilter,
  LineBasicMaterial,
  LineSegments,
  Mesh,
  NearestFilter,
  RedFormat,
  RGBAFormat,
  RawShaderMaterial,
  Scene,
  Texture,
  UnsignedByteType,
  Vector2,
  Vector3,
  Vector4,
  WebGLRenderer,
} from 'three';
import { OrbitControls } from 'three/examples/jsm/controls/OrbitControls.js';
import frameVert from '../../shaders/frame.vert';
import frameFrag from '../../shaders/frame.frag';
import {
  cameraJSONFromThree,
  fitIntrinsics,
  forwardFromCameraJSON,
  poseFromCameraJSON,
  renderSize,
  type CameraJSON,
  type Intrinsics,
} from '../lib/camera-convert';
import { IntrinsicsCamera } from '../lib/intrinsics-camera';
import type { LabelMask } from './overlay';
import { frustumSegments } from './presence';

/** Label fill opacity (the outline is drawn at full strength). */
export const LABEL_FILL = 0.45;

export type Vec3 = [number, number, number];

/** One other user's camera, drawn as a frustum. */
export interface FrustumSpec {
  sid: string;
  colour: string;
  camera: CameraJSON;
}

export interface StageEvents {
  /** The user moved the camera (orbit, pan, zoom). */
  onUserCamera(): void;
  /** A drag (or wheel gesture) began (true) or ended (false). */
  onInteraction(active: boolean): void;
}

/** Where the reference image (the dataset view or home camera being framed) sits on the canvas, in CSS pixels. */
export interface ReferenceRect {
  left: number;
  top: number;
  width: number;
  height: number;
}

export class ViewerStage {
  readonly renderer: WebGLRenderer;
  /** 3D content (overlays) lives here; the frame quad is drawn first, behind it. */
  readonly scene = new Scene();
  readonly camera: IntrinsicsCamera;
  readonly controls: OrbitControls;

  private readonly quad: Mesh<BufferGeometry, RawShaderMaterial>;
  private frameTexture: Texture<ImageBitmap> | null = null;
  private labelTexture: DataTexture | null = null;
  /** The dataset photo shown instead of the frame in the reference rectangle (photo.ts), or null. */
  private photoTexture: Texture<ImageBitmap> | null = null;
  private readonly paletteTexture: DataTexture;
  /** The image whose framing is kept on resize: intrinsics of the last camera jumped to. */
  private reference: Intrinsics = { width: 1, height: 1, fx: 1, fy: 1, cx: 0.5, cy: 0.5 };
  private cssSize = { width: 1, height: 1 };
  /** Drawing buffer = camera image size, device pixels. */
  private pixelSize = { width: 1, height: 1 };
  /** The camera of the frame on screen (3D content is drawn with it), once there is a frame. */
  private frameCamera: IntrinsicsCamera | null = null;
  private readonly frustums = new Map<string, { key: string; lines: LineSegments<BufferGeometry, LineBasicMaterial> }>();
  /** True while the stage itself moves the camera, so the change is not reported as the user's. */
  private programmatic = false;
  private disposed = false;

  constructor(
    readonly canvas: HTMLCanvasElement,
    private readonly events: StageEvents,
  ) {
    this.renderer = new WebGLRenderer({ canvas, antialias: false, alpha: false, powerPreference: 'high-performance', preserveDrawingBuffer: true });
    this.renderer.setPixelRatio(1); // we size the drawing buffer in device pixels ourselves
    this.renderer.setSize(1, 1, false);
    this.renderer.autoClear = true;

    this.camera = new IntrinsicsCamera(this.reference, 0.01, 1000);

    const geometry = new BufferGeometry();
    // two triangles covering clip space; z is ignored by frame.vert
    geometry.setAttribute('position', new BufferAttribute(new Float32Array([-1, -1, 0, 1, -1, 0, 1, 1, 0, -1, -1, 0, 1, 1, 0, -1, 1, 0]), 3));
    const material = new RawShaderMaterial({
      glslVersion: GLSL3,
      vertexShader: frameVert,
      fragmentShader: frameFrag,
      uniforms: {
        uFrame: { value: null },
        uHasFrame: { value: false },
        uBackground: { value: new Color(0.07, 0.075, 0.085) },
        uLabels: { value: null },
        uPalette: { value: null },
        uHasLabels: { value: false },
        uLabelFill: { value: LABEL_FILL },
        uPixel: { value: new Vector2(1, 1) },
        uPhoto: { value: null },
        uHasPhoto: { value: false },
        uPhotoRect: { value: new Vector4(0, 0, 1, 1) },
      },
      depthTest: false,
      depthWrite: false,
    });
    this.paletteTexture = new DataTexture(new Uint8Array(256 * 4), 256, 1, RGBAFormat, UnsignedByteType);
    this.paletteTexture.minFilter = NearestFilter;
    this.paletteTexture.magFilter = NearestFilter;
    this.paletteTexture.generateMipmaps = false;
    this.paletteTexture.needsUpdate = true;
    material.uniforms.uPalette!.value = this.paletteTexture;
    this.quad = new Mesh(geometry, material);
    this.quad.frustumCulled = false;
    this.quad.renderOrder = -1e9;
    this.scene.add(this.quad);

    this.controls = new OrbitControls(this.camera, canvas);
    this.controls.enableDamping = false; // every change is a new view request; no drift after release
    this.controls.zoomToCursor = true;
    this.controls.screenSpacePanning = true;
    this.controls.addEventListener('change', this.onControlsChange);
    this.controls.addEventListener('start', this.onControlsStart);
    this.controls.addEventListener('end', this.onControlsEnd);
  }

  /** Background shown before the first frame (the scene's background colour, 0..1). */
  setBackground(rgb: Vec3): void {
    (this.quad.material.uniforms.uBackground!.value as Color).setRGB(rgb[0], rgb[1], rgb[2]);
  }

  /**
   * Put the camera exactly at `cam` (pose and framing: its whole image is shown, centred).
   * The orbit target is the point of `target` along the view axis, so orbiting starts without a jump;
   * `up` is the world up direction orbiting keeps.
   */
  jumpTo(cam: CameraJSON, target: Vec3, up: Vec3): void {
    const { position, quaternion } = poseFromCameraJSON(cam);
    const forward = forwardFromCameraJSON(cam);
    const toTarget = new Vector3(...target).sub(position);
    let distance = toTarget.dot(forward);
    if (!(distance > 1e-6)) distance = Math.max(toTarget.length(), 1);

    this.programmatic = true;
    this.camera.up.set(up[0], up[1], up[2]).normalize();
    this.camera.position.copy(position);
    this.camera.quaternion.copy(quaternion);
    this.camera.near = distance * 0.002;
    this.camera.far = distance * 2000;
    this.reference = { width: cam.width, height: cam.height, fx: cam.fx, fy: cam.fy, cx: cam.cx, cy: cam.cy };
    this.applyIntrinsics();
    this.camera.updateMatrixWorld(true);
    // Not controls.update(): it would re-aim the camera with lookAt and drop any roll.
    this.controls.target.copy(position).addScaledVector(forward, distance);
    this.programmatic = false;
  }

  /** Follow the canvas' CSS size; returns true when the render size changed. */
  resize(cssWidth: number, cssHeight: number, devicePixelRatio: number): boolean {
    const w = Math.max(1, cssWidth);
    const h = Math.max(1, cssHeight);
    const size = renderSize(w, h, devicePixelRatio);
    const k = this.camera.intrinsics;
    this.cssSize = { width: w, height: h };
    if (k.width === size.width && k.height === size.height) return false;
    this.pixelSize = { width: size.width, height: size.height };
    this.renderer.setSize(size.width, size.height, false);
    (this.quad.material.uniforms.uPixel!.value as Vector2).set(1 / size.width, 1 / size.height);
    this.applyIntrinsics();
    return true;
  }

  /** The current camera in wire form (render size in device pixels). */
  cameraJSON(): CameraJSON {
    this.camera.updateMatrixWorld();
    return cameraJSONFromThree(this.camera, this.camera.intrinsics);
  }

  /** The reference image's rectangle on the canvas, in CSS pixels. */
  referenceRect(): ReferenceRect {
    const k = this.camera.intrinsics;
    const fit = fitIntrinsics(this.reference, k.width, k.height);
    const s = this.cssSize.width / k.width;
    return { left: fit.offsetX * s, top: fit.offsetY * s, width: this.reference.width * fit.scale * s, height: this.reference.height * fit.scale * s };
  }

  /** The 256x1 RGBA label palette (index -> colour, alpha = opacity); redraws unless told not to. */
  setPalette(rgba: Uint8Array, redraw = true): void {
    if (this.disposed) return;
    (this.paletteTexture.image.data as Uint8Array).set(rgba.subarray(0, 256 * 4));
    this.paletteTexture.needsUpdate = true;
    if (redraw) this.render();
  }

  /** Show a decoded frame (and its label map, if any) and draw. The previous frame's bitmap is closed. */
  showFrame(bitmap: ImageBitmap, labels: LabelMask | null = null): void {
    if (this.disposed) {
      bitmap.close();
      return;
    }
    this.setLabels(labels);
    let previous: ImageBitmap | null = null;
    const tex = this.frameTexture;
    if (tex && tex.image.width === bitmap.width && tex.image.height === bitmap.height) {
      previous = tex.image;
      tex.image = bitmap;
      tex.needsUpdate = true;
    } else {
      if (tex) {
        previous = tex.image;
        tex.dispose();
      }
      const t = new Texture<ImageBitmap>(bitmap);
      t.flipY = false; // row 0 = top; frame.vert maps v downward
      t.generateMipmaps = false;
      t.minFilter = LinearFilter;
      t.magFilter = LinearFilter;
      t.premultiplyAlpha = false;
      t.needsUpdate = true; // colorSpace stays NoColorSpace: bytes are passed through unchanged
      this.frameTexture = t;
      this.quad.material.uniforms.uFrame!.value = t;
      this.quad.material.uniforms.uHasFrame!.value = true;
    }
    this.render();
    previous?.close();
  }

  render(): void {
    if (!this.disposed) this.renderer.render(this.scene, this.frameCamera ?? this.camera);
  }

  /**
   * Show `bitmap` (the dataset photo of the view the camera is at) instead of the frame inside
   * the reference image's rectangle, under the label overlay; null: the frame again. The stage
   * owns the bitmap from here on (closed when replaced).
   */
  setPhoto(bitmap: ImageBitmap | null): void {
    if (this.disposed) {
      bitmap?.close();
      return;
    }
    const uniforms = this.quad.material.uniforms;
    const old = this.photoTexture;
    if (bitmap) {
      const t = new Texture<ImageBitmap>(bitmap);
      t.flipY = false; // row 0 = top, like the frame
      t.generateMipmaps = false;
      t.minFilter = LinearFilter;
      t.magFilter = LinearFilter;
      t.premultiplyAlpha = false;
      t.needsUpdate = true;
      this.photoTexture = t;
      uniforms.uPhoto!.value = t;
      uniforms.uHasPhoto!.value = true;
    } else {
      this.photoTexture = null;
      uniforms.uPhoto!.value = null;
      uniforms.uHasPhoto!.value = false;
    }
    this.updatePhotoRect();
    this.render();
    if (old) {
      old.image.close();
      old.dispose();
    }
  }

  /** The camera the frame about to be shown was requested with (null: the live camera). */
  setFrameCamera(cam: CameraJSON | null): void {
    if (!cam) {
      this.frameCamera = null;
      return;
    }
    const near = this.camera.near;
    const far = this.camera.far;
    const k = { width: cam.width, height: cam.height, fx: cam.fx, fy: cam.fy, cx: cam.cx, cy: cam.cy };
    const fc = this.frameCamera ?? new IntrinsicsCamera(k, near, far);
    fc.near = near;
    fc.far = far;
    fc.setIntrinsics(k);
    const { position, quaternion } = poseFromCameraJSON(cam);
    fc.position.copy(position);
    fc.quaternion.copy(quaternion);
    fc.updateMatrixWorld(true);
    this.frameCamera = fc;
  }

  /** Frustums of others' cameras, `depth` world units deep; replaces the previous set. Does not draw; returns whether anything changed. */
  setFrustums(specs: readonly FrustumSpec[], depth: number): boolean {
    if (this.disposed) return false;
    let changed = false;
    const keep = new Set<string>();
    for (const f of specs) {
      keep.add(f.sid);
      const key = JSON.stringify([f.colour, f.camera, depth]);
      const old = this.frustums.get(f.sid);
      if (old?.key === key) continue;
      changed = true;
      const positions = frustumSegments(f.camera, depth);
      if (old) {
        old.lines.geometry.setAttribute('position', new BufferAttribute(positions, 3));
        old.lines.geometry.computeBoundingSphere();
        old.lines.material.color.set(f.colour);
        old.key = key;
        continue;
      }
      const geometry = new BufferGeometry();
      geometry.setAttribute('position', new BufferAttribute(positions, 3));
      const material = new LineBasicMaterial({ color: new Color(f.colour), transparent: true, opacity: 0.95, depthTest: false, depthWrite: false });
      const lines = new LineSegments(geometry, material);
      lines.frustumCulled = false;
      lines.renderOrder = 10;
      lines.name = `frustum:${f.sid}`;
      this.scene.add(lines);
      this.frustums.set(f.sid, { key, lines });
    }
    for (const [sid, f] of this.frustums) {
      if (keep.has(sid)) continue;
      this.scene.remove(f.lines);
      f.lines.geometry.dispose();
      f.lines.material.dispose();
      this.frustums.delete(sid);
      changed = true;
    }
    return changed;
  }

  /** Sids with a frustum in the scene (test hook). */
  frustumSids(): string[] {
    return [...this.frustums.keys()];
  }

  dispose(): void {
    this.disposed = true;
    this.controls.removeEventListener('change', this.onControlsChange);
    this.controls.removeEventListener('start', this.onControlsStart);
    this.controls.removeEventListener('end', this.onControlsEnd);
    this.controls.dispose();
    this.frameTexture?.image.close();
    this.frameTexture?.dispose();
    this.photoTexture?.image.close();
    this.photoTexture?.dispose();
    this.labelTexture?.dispose();
    this.paletteTexture.dispose();
    this.quad.geometry.dispose();
    this.quad.material.dispose();
    for (const f of this.frustums.values()) {
      f.lines.geometry.dispose();
      f.lines.material.dispose();
    }
    this.frustums.clear();
    this.renderer.dispose();
  }

  private setLabels(mask: LabelMask | null): void {
    const uniforms = this.quad.material.uniforms;
    if (!mask) {
      uniforms.uHasLabels!.value = false;
      return;
    }
    let tex = this.labelTexture;
    if (tex && tex.image.width === mask.width && tex.image.height === mask.height) {
      (tex.image.data as Uint8Array).set(mask.data);
    } else {
      tex?.dispose();
      tex = new DataTexture(mask.data.slice(), mask.width, mask.height, RedFormat, UnsignedByteType);
      tex.minFilter = NearestFilter;
      tex.magFilter = NearestFilter;
      tex.generateMipmaps = false;
      tex.flipY = false; // row 0 = top, like the frame
      tex.unpackAlignment = 1; // rows of odd widths are not padded
      this.labelTexture = tex;
      uniforms.uLabels!.value = tex;
    }
    tex.needsUpdate = true;
    uniforms.uHasLabels!.value = true;
  }

  private applyIntrinsics(): void {
    const fit = fitIntrinsics(this.reference, this.pixelSize.width, this.pixelSize.height);
    this.camera.setIntrinsics({ width: fit.width, height: fit.height, fx: fit.fx, fy: fit.fy, cx: fit.cx, cy: fit.cy });
    this.updatePhotoRect();
  }

  /** Where the reference image lies on the canvas, in uv units (the photo's place). */
  private updatePhotoRect(): void {
    const { width, height } = this.pixelSize;
    const fit = fitIntrinsics(this.reference, width, height);
    (this.quad.material.uniforms.uPhotoRect!.value as Vector4).set(fit.offsetX / width, fit.offsetY / height, (this.reference.width * fit.scale) / width, (this.reference.height * fit.scale) / height);
  }

  private readonly onControlsChange = () => {
    if (!this.programmatic) this.events.onUserCamera();
  };
  private readonly onControlsStart = () => this.events.onInteraction(true);
  private readonly onControlsEnd = () => this.events.onInteraction(false);
}
