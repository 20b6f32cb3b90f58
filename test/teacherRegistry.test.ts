import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { randn } from '../src/engine/creation.js';
import { noGrad } from '../src/engine/runtime.js';
import { FaceNet } from '../src/nets/faceNet.js';
import { FaceNetClassifier } from '../src/nets/faceNetClassifier.js';
import { FaceRes } from '../src/nets/faceRes.js';
import { teacherEntry, TEACHER_NAMES, type TeacherNet } from '../src/nets/teachers.js';
import { resolveConfig } from '../src/train/config.js';

describe('teacher registry', () => {
  test("'auto' layers and input size resolve per net; old configs keep dlib-resnet's meaning", () => {
    const old = resolveConfig({ teacher: { frozenUntil: 'conv64_3' }, stageA: { target: 'conv256_2' } });
    assert.deepEqual([old.teacher.net, old.teacher.inputSize, old.teacher.frozenUntil, old.stageA.target], ['dlib-resnet', 150, 'conv64_3', 'conv256_2']);
    assert.deepEqual([resolveConfig().teacher.frozenUntil, resolveConfig().stageA.target], ['conv64_3', 'conv256_2']);
    const fr = resolveConfig({ teacher: { net: 'faceres', inputSize: 128 } });
    assert.deepEqual([fr.teacher.inputSize, fr.teacher.frozenUntil, fr.stageA.target], [128, 'conv_pw_11', 'conv_pw_13']);
    assert.equal(resolveConfig({ teacher: { net: 'faceres' } }).teacher.inputSize, 224);
  });

  test('unknown nets, layers of another net, a target before the frozen layers and tiny inputs are config errors', () => {
    assert.throws(() => resolveConfig({ teacher: { net: 'vggface' } }), /config\.teacher\.net: expected one of dlib-resnet, faceres/);
    assert.throws(() => resolveConfig({ teacher: { net: 'faceres', frozenUntil: 'conv64_3' } }), /config\.teacher\.frozenUntil: 'conv64_3' is not a conv feature of teacher faceres/);
    assert.throws(() => resolveConfig({ stageA: { target: 'avg' } }), /config\.stageA\.target/);
    assert.throws(() => resolveConfig({ teacher: { frozenUntil: 'conv256_2' }, stageA: { target: 'conv128_1' } }), /a layer after teacher\.frozenUntil/);
    assert.throws(() => resolveConfig({ teacher: { inputSize: 8 } }), /config\.teacher\.inputSize/);
    assert.deepEqual(TEACHER_NAMES, ['dlib-resnet', 'faceres', 'faceres-fp16']);
  });

  test("entries' feature shapes match the nets' real outputs", () => {
    const cases: [string, TeacherNet, number, string[]][] = [
      ['dlib-resnet', new FaceNet() as unknown as TeacherNet, 150, ['conv32_down', 'pool', 'conv64_3', 'conv256_2', 'conv256_down_out', 'avg']],
      ['faceres', new FaceRes() as unknown as TeacherNet, 128, ['conv1', 'conv_pw_11', 'conv_pw_13', 'avg']],
    ];
    for (const [name, net, size, layers] of cases) {
      const e = teacherEntry(name);
      noGrad(() => {
        const x = randn([1, 3, size, size]).clamp(0, 1);
        const f = net.features(x);
        for (const l of layers) assert.deepEqual(f.get(l)?.shape.slice(1), e.shape(l, size), `${name} ${l}`);
        for (const t of f.values()) t.dispose();
        x.dispose();
      });
      net.dispose();
    }
  });

  test('the fine-tuning classifier trains only the layers between frozenUntil and avg, on either net', () => {
    const e = teacherEntry('faceres');
    const cls = new FaceNetClassifier(new FaceRes() as unknown as TeacherNet, 8, 'conv_pw_11', 0.5, e);
    const trainable = new Set(cls.namedParameters().filter(([n, p]) => p.requiresGrad && n.startsWith('net.')).map(([n]) => n.split('.')[1]));
    assert.deepEqual([...trainable].sort(), ['conv_dw_12', 'conv_dw_13', 'conv_pw_12', 'conv_pw_13']);
    assert.ok(cls.namedParameters().some(([n, p]) => n.startsWith('head.') && p.requiresGrad));
    assert.deepEqual(cls.head.weight.shape, [8, 1024]);
    assert.throws(() => new FaceNetClassifier(new FaceRes() as unknown as TeacherNet, 8, 'feats', 0.5, e), /cannot freeze until 'feats'/);
    cls.dispose();
  });
});
