// The public API (the package's types: dist/src/index.d.ts) names no Native* type: the addon's shapes stay behind
// src/native.ts, and what the engine reports reaches users under public names (src/engine-records.ts). Walks
// every type reachable from index.d.ts's exports through npt66's own declarations, as a user's compiler sees
// them (members marked @internal are stripped).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import * as ts from 'typescript';

// dist/test/ts -> dist/src
const distSrc = path.resolve(__dirname, '..', '..', 'src');

function nativeTypesReachable(entry: string): string[] {
  const program = ts.createProgram([entry], { noEmit: true, skipLibCheck: true, types: ['node'] });
  const checker = program.getTypeChecker();
  const ours = (s: ts.Symbol | undefined) => (s?.declarations ?? []).some((d) => d.getSourceFile().fileName.startsWith(distSrc));
  const found = new Map<string, string>();
  const seen = new Set<ts.Type>();

  const visit = (type: ts.Type, where: string): void => {
    if (seen.has(type)) return;
    seen.add(type);
    for (const s of [type.aliasSymbol, type.getSymbol()]) {
      if (s && /^Native[A-Z]/.test(s.name) && !found.has(s.name)) found.set(s.name, where);
    }
    if (type.isUnionOrIntersection()) return type.types.forEach((t) => visit(t, where));
    for (const t of type.aliasTypeArguments ?? []) visit(t, where);
    if (type.flags & ts.TypeFlags.Object && (type as ts.ObjectType).objectFlags & ts.ObjectFlags.Reference) {
      for (const t of checker.getTypeArguments(type as ts.TypeReference)) visit(t, where);
    }
    const symbol = type.aliasSymbol ?? type.getSymbol();
    // Into npt66's own declarations and anonymous shapes written there; not into node's or zod's.
    if (symbol && !ours(symbol) && !(symbol.flags & ts.SymbolFlags.TypeLiteral)) return;
    for (const p of type.getProperties()) {
      const decl = p.valueDeclaration ?? p.declarations?.[0];
      if (!decl || !decl.getSourceFile().fileName.startsWith(distSrc)) continue;
      if (ts.getCombinedModifierFlags(decl as ts.Declaration) & ts.ModifierFlags.Private) continue;
      visit(checker.getTypeOfSymbolAtLocation(p, decl), `${where}.${p.name}`);
    }
    for (const sig of [...type.getCallSignatures(), ...type.getConstructSignatures()]) {
      sig.getParameters().forEach((p) => visit(checker.getTypeOfSymbol(p), `${where}(${p.name})`));
      visit(sig.getReturnType(), `${where}()`);
    }
    for (const info of checker.getIndexInfosOfType(type)) visit(info.type, `${where}[]`);
  };

  const file = program.getSourceFile(entry);
  assert.ok(file, `cannot read ${entry}`);
  const module = checker.getSymbolAtLocation(file);
  assert.ok(module);
  for (const exported of checker.getExportsOfModule(module)) {
    const s = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
    if (/^Native[A-Z]/.test(s.name)) found.set(s.name, exported.name);
    if (s.flags & (ts.SymbolFlags.Type | ts.SymbolFlags.Class)) visit(checker.getDeclaredTypeOfSymbol(s), exported.name);
    if (s.flags & ts.SymbolFlags.Value) visit(checker.getTypeOfSymbol(s), exported.name);
  }
  return [...found].map(([name, where]) => `${name} (via ${where})`);
}

test('no Native* type is reachable from the public API', () => {
  assert.deepEqual(nativeTypesReachable(path.join(distSrc, 'index.d.ts')), []);
});
