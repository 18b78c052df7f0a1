export { DemoGenerator, demoRecords, demoMemberId, seededRandom, DEMO_PROPERTIES, type DemoOptions, type DemoRecord } from './demo-generator.ts'
export { publishDemo, type PublishDemoOptions, type DemoProgress } from './publish-demo.ts'
