import t from 'tap'

t.test('tests run on the pinned Node.js 24', async t => {
  t.equal(process.versions.node.split('.')[0], '24', `running on ${process.version}`)
})
