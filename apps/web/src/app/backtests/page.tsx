import { Suspense } from 'react'
import { Loading } from '../../components/states'
import { BacktestsPage } from '../../features/backtests/components/backtests-page'

export default function Page() {
  return (
    <Suspense fallback={<Loading />}>
      <BacktestsPage />
    </Suspense>
  )
}
