// The embedded database's template (lib/db/pglite-template.ts, docs/archive.md "Embedded
// PostgreSQL"): a data dir seeded from it and migrated equals one PGlite initialised itself and
// migrated; an existing data dir is never touched; processes seeding at once leave one complete
// template and one complete data dir; a template that does not open falls back to initdb.
import t from 'tap'
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { archiveDatabaseConfig, openDatabase, type Database } from '../../lib/db/database.ts'
import { appliedMigrations, migrate } from '../../lib/db/migrate.ts'
import { loadConfig } from '../../lib/config.ts'
import { ensureTemplate, seedFromTemplate, standardTemplateCacheDir, templateKey } from '../../lib/db/pglite-template.ts'
import { cleanEnv, runCli } from '../cli/cli-helpers.ts'

/** Every user-visible schema object with its definition, and the databases and extensions. */
async function schemaOf (db: Database): Promise<unknown> {
  const q = async (sql: string): Promise<unknown[]> => (await db.query(sql)).rows
  return {
    columns: await q(`SELECT table_schema, table_name, column_name, ordinal_position, data_type, is_nullable, column_default
      FROM information_schema.columns WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2, 4`),
    indexes: await q("SELECT schemaname, tablename, indexname, indexdef FROM pg_indexes WHERE schemaname NOT IN ('pg_catalog') ORDER BY 1, 2, 3"),
    constraints: await q(`SELECT conrelid::regclass::text AS rel, conname, pg_get_constraintdef(oid) AS def FROM pg_constraint
      WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2`),
    objects: await q("SELECT relname, relkind FROM pg_class WHERE relnamespace = 'public'::regnamespace ORDER BY 1"),
    functions: await q("SELECT proname, pg_get_function_identity_arguments(oid) AS args FROM pg_proc WHERE pronamespace = 'public'::regnamespace ORDER BY 1, 2"),
    databases: await q('SELECT datname, encoding, datcollate FROM pg_database ORDER BY 1'),
    extensions: await q('SELECT extname, extversion FROM pg_extension ORDER BY 1'),
    settings: await q("SELECT name, setting FROM pg_settings WHERE name IN ('server_version', 'server_encoding', 'lc_collate', 'TimeZone', 'DateStyle') ORDER BY 1")
  }
}

t.test('cache location: the REWARDS_PGLITE_CACHE_DIR setting', async t => {
  const cacheDir = (env: Record<string, string>, flags: Record<string, string> = {}): string | null | undefined =>
    loadConfig({ env, flags, cwd: '/w' }).pgliteCacheDir
  t.equal(cacheDir({ REWARDS_PGLITE_CACHE_DIR: 'off' }), null, 'off: no template')
  t.equal(cacheDir({ REWARDS_PGLITE_CACHE_DIR: '/x/y' }), '/x/y')
  t.equal(cacheDir({ REWARDS_PGLITE_CACHE_DIR: 'rel' }), '/w/rel', 'relative to the working directory')
  t.equal(cacheDir({}, { pgliteCacheDir: '/from/flag' }), '/from/flag', 'the flag')
  t.equal(cacheDir({}), standardTemplateCacheDir(), 'unset: the standard cache')
  t.equal(standardTemplateCacheDir({ XDG_CACHE_HOME: '/c' }), '/c/rewards/pglite')
  t.match(standardTemplateCacheDir({}), /\/\.cache\/rewards\/pglite$/)
  t.throws(() => loadConfig({ env: { REWARDS_PGLITE_CACHE_DIR: 'a\0b' } }), /REWARDS_PGLITE_CACHE_DIR=.* is invalid: expected a directory path, or off/)
  t.same(archiveDatabaseConfig({ databaseUrl: null, dataDir: '/d', pgliteCacheDir: null }), { databaseUrl: null, dataDir: '/d', pgDir: '/d/pg', pgliteCacheDir: null }, 'passed to the database')
  t.same(archiveDatabaseConfig({ databaseUrl: null, dataDir: '/d' }), { databaseUrl: null, dataDir: '/d', pgDir: '/d/pg' }, 'left to its default when a hand-built configuration omits it')
  t.match(templateKey(), /^pglite-\d+\.\d+\.\d+.*-f\d+$/, 'keyed by the PGlite version')
})

t.test('the CLI builds the template where REWARDS_PGLITE_CACHE_DIR says, and not at all when off', async t => {
  const root = t.testdir({ env: {}, off: {} })
  const viaEnv = await runCli(['db', 'migrate', '--data-dir', join(root, 'env', 'data')], { env: cleanEnv({ REWARDS_PGLITE_CACHE_DIR: join(root, 'env', 'cache') }), timeoutMs: 120_000 })
  t.equal(viaEnv.code, 0, viaEnv.stderr)
  t.ok(existsSync(join(root, 'env', 'cache', templateKey(), 'PG_VERSION')), 'built in the directory the variable names')
  const off = await runCli(['db', 'migrate', '--data-dir', join(root, 'off', 'data')], { env: cleanEnv({ REWARDS_PGLITE_CACHE_DIR: 'off', XDG_CACHE_HOME: join(root, 'off', 'xdg') }), timeoutMs: 120_000 })
  t.equal(off.code, 0, off.stderr)
  t.ok(existsSync(join(root, 'off', 'data', 'pg', 'PG_VERSION')), 'the data dir initialised itself')
  t.notOk(existsSync(join(root, 'off', 'xdg')), 'off: no template anywhere')
  const shown = await runCli(['config'], { env: cleanEnv({ REWARDS_PGLITE_CACHE_DIR: 'off' }) })
  t.match(shown.stdout, /REWARDS_PGLITE_CACHE_DIR\s+--pglite-cache-dir\s+off\s+env/, '`rewards config` shows it')
})

t.test('a seeded, migrated data dir equals one PGlite initialised itself', async t => {
  const root = t.testdir({ cache: {}, seeded: {}, fresh: {} })
  const cacheDir = join(root, 'cache')
  const seeded = await openDatabase({ dataDir: join(root, 'seeded'), pgliteCacheDir: cacheDir })
  t.ok(existsSync(join(cacheDir, templateKey(), 'PG_VERSION')), 'the template was built and kept')
  t.notOk(existsSync(join(root, 'seeded', 'pg', 'rewards-template.json')), 'the copy has no template marker')
  const fresh = await openDatabase({ dataDir: join(root, 'fresh'), pgliteCacheDir: null })
  t.teardown(() => fresh.close())
  const [a, b] = [await migrate(seeded), await migrate(fresh)]
  t.same(a.applied.map(m => m.version), b.applied.map(m => m.version), 'the same migrations applied')
  t.ok(a.applied.length > 0)
  t.same(await schemaOf(seeded), await schemaOf(fresh), 'the same schema')
  const appliedAt = (await appliedMigrations(seeded)).map(m => Date.parse(m.appliedAt))
  t.ok(appliedAt.every(at => Math.abs(at - Date.now()) < 10 * 60_000), 'schema_migrations holds this run\'s times, not the template\'s')

  // An existing data dir is opened as it is: its rows stay, nothing applied again.
  await seeded.query("CREATE TABLE kept (v text); INSERT INTO kept VALUES ('mine')")
  await seeded.close()
  const again = await openDatabase({ dataDir: join(root, 'seeded'), pgliteCacheDir: cacheDir })
  t.teardown(() => again.close())
  t.same((await again.query('SELECT v FROM kept')).rows, [{ v: 'mine' }], 'existing data kept')
  t.same((await migrate(again)).applied, [], 'nothing applied twice')
})

t.test('an existing or non-empty dir is never seeded', async t => {
  const root = t.testdir({ cache: {}, data: { 'notes.txt': 'user file' } })
  let builds = 0
  const initialise = async (dir: string): Promise<void> => { builds++; writeFileSync(join(dir, 'PG_VERSION'), '17\n') }
  t.equal(await seedFromTemplate(join(root, 'data'), { cacheDir: join(root, 'cache'), initialise }), false)
  t.same(readdirSync(join(root, 'data')), ['notes.txt'], 'the dir is as it was')
  t.equal(builds, 0, 'no template built for it')
  t.equal(await seedFromTemplate(join(root, 'new'), { cacheDir: null, initialise }), false, 'no cache dir: no template')
  t.equal(await seedFromTemplate(join(root, 'new'), { cacheDir: join(root, 'cache'), initialise }), true, 'an absent dir is seeded')
  t.equal(readFileSync(join(root, 'new', 'PG_VERSION'), 'utf8'), '17\n')
  mkdirSync(join(root, 'empty'))
  t.equal(await seedFromTemplate(join(root, 'empty'), { cacheDir: join(root, 'cache'), initialise }), true, 'an empty dir is seeded')
  t.equal(builds, 1, 'the template was built once')
})

t.test('an incomplete template is rebuilt', async t => {
  const root = t.testdir({ cache: {} })
  const cacheDir = join(root, 'cache')
  mkdirSync(join(cacheDir, templateKey()))
  writeFileSync(join(cacheDir, templateKey(), 'PG_VERSION'), 'half\n')
  const template = await ensureTemplate(cacheDir, async dir => { writeFileSync(join(dir, 'PG_VERSION'), '17\n') })
  t.equal(readFileSync(join(template, 'PG_VERSION'), 'utf8'), '17\n')
  t.same(readdirSync(cacheDir), [templateKey()], 'no scratch dirs left')
})

t.test('a template holding a lock file is dropped, not copied', async t => {
  const root = t.testdir({ cache: {} })
  const template = join(root, 'cache', templateKey())
  mkdirSync(template)
  writeFileSync(join(template, 'PG_VERSION'), '17\n')
  writeFileSync(join(template, 'postmaster.pid'), '-42\n')
  writeFileSync(join(template, 'rewards-template.json'), '{}\n')
  t.equal(await seedFromTemplate(join(root, 'data', 'pg'), { cacheDir: join(root, 'cache') }), false)
  t.notOk(existsSync(join(root, 'data', 'pg')), 'the data dir is left to initdb')
  t.notOk(existsSync(template), 'the template was dropped')
  t.same(readdirSync(join(root, 'data')), [], 'no scratch copy left')
})

t.test('processes seeding the same new dir at once', async t => {
  const root = t.testdir({ cache: {} })
  const moduleUrl = new URL('../../lib/db/pglite-template.ts', import.meta.url).href
  // Each builds a template of 200 files (slowly, so the builds overlap), then seeds data/pg.
  const script = `
    import { seedFromTemplate } from ${JSON.stringify(moduleUrl)}
    import { writeFileSync } from 'node:fs'
    const initialise = async dir => {
      for (let i = 0; i < 200; i++) { writeFileSync(dir + '/f' + i, String(i)); if (i % 20 === 0) await new Promise(r => setImmediate(r)) }
    }
    process.stdout.write(String(await seedFromTemplate(process.argv[1], { cacheDir: process.argv[2], initialise })))`
  const run = async (): Promise<string> => await new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script, join(root, 'data', 'pg'), join(root, 'cache')], { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', chunk => { out += String(chunk) })
    child.on('error', reject)
    child.on('exit', code => { if (code === 0) resolve(out); else reject(new Error(`exit ${code}`)) })
  })
  const results = await Promise.all([run(), run(), run(), run()])
  t.equal(results.filter(r => r === 'true').length, 1, `exactly one seeded the dir (${results.join(', ')})`)
  t.equal(results.filter(r => r === 'false').length, 3, 'the others left it to the winner')
  t.equal(readdirSync(join(root, 'data', 'pg')).length, 200, 'the data dir is one complete copy')
  t.same(readdirSync(join(root, 'data')), ['pg'], 'no scratch copies left')
  t.same(readdirSync(join(root, 'cache')), [templateKey()], 'one template, no scratch builds left')
  t.equal(readdirSync(join(root, 'cache', templateKey())).length, 201, 'the template is complete (files and marker)')
})

t.test('a template that does not open falls back to initdb', async t => {
  const root = t.testdir({ cache: {}, data: {} })
  const template = join(root, 'cache', templateKey())
  mkdirSync(template)
  writeFileSync(join(template, 'PG_VERSION'), '17\n')
  writeFileSync(join(template, 'rewards-template.json'), '{}\n')
  const db = await openDatabase({ dataDir: join(root, 'data'), pgliteCacheDir: join(root, 'cache') })
  t.teardown(() => db.close())
  t.same((await db.query('SELECT 1 AS x')).rows, [{ x: 1 }], 'opened')
  t.notOk(existsSync(template), 'the broken template was dropped')
})
