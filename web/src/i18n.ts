// English and Brazilian Portuguese strings. Every user-visible string goes through t(); the
// validator's findings and the FIGO flags are rendered here from their machine fields (rule, id,
// value, bounds) so no English sentence from the WASM core reaches a Portuguese screen.

export type Lang = 'en' | 'pt-BR';
export const LANGS: Lang[] = ['en', 'pt-BR'];

type Dict = Record<string, string>;

const en: Dict = {
  'app.title': 'Fetal Health',
  'app.skip': 'Skip to content',
  'app.tagline': 'CTG exam classification — decision support',
  'app.loading': 'Loading the classifier…',
  'app.loadFailed': 'The classifier could not be loaded: {message}',
  'app.offline': 'Offline — exams are classified on this device and queued.',
  'app.online': 'Online',
  'app.unreachable': 'Server unreachable — working offline; exams are queued.',
  'history.unreachable': 'server unreachable; will retry.',
  'nav.exam': 'Exam',
  'nav.batch': 'Batch',
  'nav.history': 'History',
  'nav.model': 'Model',
  'nav.settings': 'Settings',
  'nav.label': 'Main sections',
  'lang.label': 'Language',
  'disclaimer':
    'Decision support; labels are the consensus of three obstetricians, not outcomes.',

  'group.baseline': 'Baseline',
  'group.baseline.help': 'Fetal heart rate baseline over the trace.',
  'group.events': 'Accelerations, movements and contractions',
  'group.events.help': 'Events per second of trace (count ÷ trace length in seconds).',
  'group.decelerations': 'Decelerations',
  'group.decelerations.help': 'Events per second of trace (count ÷ trace length in seconds).',
  'group.variability': 'Variability',
  'group.variability.help': 'Short- and long-term variability of the heart rate.',
  'group.histogram': 'FHR histogram',
  'group.histogram.help': 'Shape of the heart-rate histogram over the trace.',

  'unit.bpm': 'bpm',
  'unit.rate': 'events/s',
  'unit.rate.long': 'events per second',
  'unit.percent': '%',
  'unit.count': 'count',
  'unit.bpm2': 'bpm²',
  'unit.tendency': '−1, 0 or 1',
  'unit.none': '',

  'form.title': 'New exam',
  'form.intro':
    'Enter the 21 features of one cardiotocography exam as reported by the CTG system. Decimals may use a point or a comma.',
  'form.samples': 'Sample exams from the dataset:',
  'form.sample.normal': 'Normal example',
  'form.sample.suspect': 'Suspect example',
  'form.sample.pathological': 'Pathological example',
  'form.details': 'Exam details (optional)',
  'form.patientRef': 'Patient reference',
  'form.patientRef.help': 'A local record number, not a name. Sent with the exam.',
  'form.note': 'Note',
  'form.note.help': 'Free text sent with the exam (at most 4,000 characters).',
  'form.note.count': '{count} characters',
  'form.classify': 'Classify',
  'form.reset': 'New exam',
  'form.required': 'Enter a value.',
  'form.notNumber': '“{text}” is not a number. Expected {expected}.',
  'form.errorsTitle': 'Please correct {count} field(s) before classifying:',
  'form.warning': 'Warning',
  'form.error': 'Error',
  'form.pendingModel':
    'Model version {version} is ready and will be used from the next exam (the current exam stays on version {current}).',
  'form.switchedModel': 'Now using model version {version}.',
  'form.range': 'Possible range: {min} to {max} {unit}',

  'rule.not_finite': 'Not a number: enter a finite value in {unit}.',
  'rule.below_min': 'Below the possible minimum: expected {min} to {max} {unit}.',
  'rule.above_max': 'Above the possible maximum: expected {min} to {max} {unit}.',
  'rule.range': 'Outside the possible range: expected {min} to {max} {unit}.',
  'rule.not_integer': 'Not a whole number: expected a whole {unit} value.',
  'rule.tendency_set': 'Tendency must be −1 (left asymmetric), 0 (symmetric) or 1 (right asymmetric).',
  'rule.width_is_max_minus_min':
    'Width must equal histogram maximum − minimum: expected {mid} {unit} (± {tolerance}).',
  'rule.mode_within_min_max':
    'Mode must lie between the histogram minimum and maximum: expected {min} to {max} {unit}.',
  'rule.median_within_min_max':
    'Median must lie between the histogram minimum and maximum: expected {min} to {max} {unit}.',
  'rule.mean_within_min_max':
    'Mean must lie between the histogram minimum and maximum: expected {min} to {max} {unit}.',
  'rule.variance_within_width':
    'Variance cannot exceed (width ÷ 2)²: expected at most {max} {unit}.',
  'rule.min_at_most_max': 'Histogram minimum cannot exceed the maximum: expected at most {max} {unit}.',
  'rule.outside_training_range':
    'Outside the training data ({min} to {max} {unit}): the result is less reliable.',
  'rule.generic': 'Value {value} not accepted ({rule}): expected {min} to {max} {unit}.',
  'rule.generic.open': 'Value {value} not accepted ({rule}).',
  'rule.hint.count':
    'Did you enter a count? This feature is events per second (count ÷ trace length in seconds).',
  'rule.hint.fraction': 'Did you enter a fraction? This feature is a percentage (0 to 100).',

  'result.title': 'Result',
  'result.empty': 'Enter an exam and press Classify to see the result here.',
  'result.model': 'Model',
  'result.class': 'Model classification',
  'result.probabilities': 'Calibrated probabilities',
  'result.contributions': 'What pushed the result',
  'result.contributions.help':
    'Per-feature contributions (TreeSHAP) to the {class} score: bars to the right pushed toward {class}, bars to the left pushed away.',
  'result.toward': 'toward {class}',
  'result.away': 'away from {class}',
  'result.figo': 'FIGO rule cross-check',
  'result.figo.ruleset': 'Rule set {ruleset}',
  'result.figo.none': 'No FIGO criterion fired.',
  'result.figo.agree': 'The model and the FIGO rules agree.',
  'result.figo.disagree':
    'The model ({model}) and the FIGO rules ({figo}) disagree. Review the trace; neither overrides the other.',
  'result.ood.ok': 'Within the training data',
  'result.ood.flag': 'Unlike the training data',
  'result.ood.detail': 'Distance {distance} (threshold {threshold}).',
  'result.ood.explain': 'Few or no training exams looked like this one: the result is less reliable; check the entered values and the trace.',
  'result.ood.features': 'Outside the training range: {features}.',
  'result.warnings': 'Warnings',
  'result.version': 'Model v{version} · {hash}',
  'result.savedQueued': 'Saved to history; queued for submission.',
  'result.notSaved': 'This browser refused to store the exam (private mode or storage full): it is not in the history and will not be submitted.',
  'result.stale': 'The values changed after this result. Press Classify again to score the exam as it is now.',
  'result.savedNoToken': 'Saved to history. Set a server token in Settings to submit exams.',
  'result.liveSummary': 'Result: {class}, probability {probability}. FIGO: {figo}.',

  'class.0': 'Normal',
  'class.1': 'Suspect',
  'class.2': 'Pathological',
  'figo.0': 'Normal',
  'figo.1': 'Suspicious',
  'figo.2': 'Pathological',

  'figo.flag.generic': '{feature}: {value} (limit {limit})',
  'figo.flag.baseline_bradycardia_severe': 'Baseline {value} bpm is below {limit} bpm (severe bradycardia)',
  'figo.flag.baseline_bradycardia': 'Baseline {value} bpm is below {limit} bpm (bradycardia)',
  'figo.flag.baseline_tachycardia': 'Baseline {value} bpm is above {limit} bpm (tachycardia)',
  'figo.flag.variability_reduced': 'Long-term variability below 5 bpm for {value}% of the trace, more than {limit}% (reduced variability)',
  'figo.flag.decelerations_repetitive': '{value} light decelerations per 10 min, more than {limit} (half the contractions, in labour with more than 2 contractions per 10 min): repetitive decelerations',
  'figo.flag.decelerations_severe': '{value} severe decelerations per 10 min: any severe deceleration is pathological',
  'figo.flag.decelerations_prolonged_repetitive': '{value} prolonged decelerations per 10 min, at least {limit} (repetitive prolonged decelerations)',
  'figo.flag.decelerations_prolonged': '{value} prolonged decelerations per 10 min (a prolonged deceleration is present)',
  'figo.flag.uterine_tachysystole': '{value} contractions per 10 min, more than {limit} (tachysystole; does not change the CTG class)',

  'csv.empty': 'the CSV file is empty; expected a header line naming the 21 feature columns',
  'csv.headerQuote': 'the header has a quote that is never closed; expected comma-separated column names',
  'csv.labelTwice': 'the column fetal_health appears twice in the header',
  'csv.columnTwice': 'the feature column {1} appears twice in the header (columns {2} and {3})',
  'csv.missingColumns': 'the header lacks the feature column(s) {1}; expected all 21 dataset column names (or their snake_case keys), in any order',
  'csv.noLabel': 'the header has no fetal_health column',
  'csv.tooManyRows': 'the file has more than {1} exam rows; this row and the ones after it were not read',
  'csv.cellQuote': 'a quoted cell is never closed; expected a closing quote before the end of the file',
  'csv.cellCount': 'the row has {1} cells but the header has {2} columns; expected one cell per header column',
  'csv.badLabel': 'expected the label 1 (Normal), 2 (Suspect) or 3 (Pathological), got {1}',
  'csv.decimalComma': 'expected a number, got {1}; use a dot as the decimal separator',
  'csv.notNumber': 'expected a number, got {1}',
  'batch.title': 'Batch classification',
  'batch.intro':
    'Pick or drop a CSV file with the dataset’s column names (for example “baseline value”, “accelerations”, …). Columns may be in any order; a “fetal_health” column, if present, is shown beside the result.',
  'batch.pick': 'Choose a CSV file',
  'batch.drop': 'or drop it here',
  'batch.reading': 'Reading {name}…',
  'batch.progress': 'Classified {done} of {total}',
  'batch.done': '{name}: {valid} exams classified, {invalid} rows not classified, in {ms} ms (model v{version}).',
  'batch.headerError': 'The file cannot be used: {message}',
  'batch.counts': 'Exams per class',
  'batch.table': 'Results',
  'batch.col.line': 'Line',
  'batch.col.class': 'Class',
  'batch.col.label': 'Label in file',
  'batch.col.pNormal': 'P(Normal)',
  'batch.col.pSuspect': 'P(Suspect)',
  'batch.col.pPathological': 'P(Pathological)',
  'batch.invalid': 'Rows not classified ({count})',
  'batch.invalid.none': 'Every row was read and validated.',
  'batch.col.reason': 'Reason',
  'batch.col.column': 'Column',
  'batch.export': 'Export results as CSV',
  'batch.page': 'Page {page} of {pages}',
  'batch.prev': 'Previous page',
  'batch.next': 'Next page',
  'batch.parseError': 'Column “{field}”: {message}',
  'batch.chartLabel': 'Bar chart of exam counts per class',
  'batch.differs': 'differs from the label in the file',
  'batch.filter': 'Show',
  'batch.filter.all': 'all classified rows',
  'batch.filter.differs': 'rows whose class differs from the file’s label',
  'batch.shown': '{count} rows',

  'history.title': 'History',
  'history.intro': 'Every exam classified on this device, newest first, with the model version that scored it.',
  'history.empty': 'No exams yet.',
  'history.col.time': 'Time',
  'history.col.class': 'Class',
  'history.col.probability': 'Probability',
  'history.col.figo': 'FIGO',
  'history.col.model': 'Model',
  'history.col.status': 'Status',
  'history.col.id': 'Exam id',
  'history.details': 'Details',
  'history.patient': 'Patient {ref}',
  'history.status.submitted': 'Submitted',
  'history.status.queued': 'Queued',
  'history.status.rejected': 'Rejected',
  'history.status.queuedNoToken': 'Queued (no server token set)',
  'history.retryNow': 'Retry queued submissions now',
  'history.queueCount': '{count} submission(s) waiting.',
  'history.lastError': 'Last attempt: {message}',
  'history.agreement.match': 'The server re-evaluated it and agrees (largest difference {diff}).',
  'history.agreement.mismatch': 'The server re-evaluated it and DISAGREES (largest difference {diff}).',
  'history.serverSaid': 'Server: {message}',
  'history.queueNone': 'No submissions waiting.',

  'model.title': 'Model',
  'model.version': 'Version',
  'model.name': 'Name',
  'model.created': 'Created',
  'model.hash': 'Content SHA-256',
  'model.source': 'Produced by',
  'model.trainingData': 'Training data SHA-256',
  'model.figo': 'FIGO rule set',
  'model.temperature': 'Calibration temperature',
  'model.oodThreshold': 'OOD distance threshold',
  'model.origin': 'Loaded from',
  'model.origin.builtin': 'built into the app',
  'model.origin.server': 'server update (signature verified)',
  'model.card': 'Model card',
  'model.metrics': 'Cross-validated metrics ({splits} splits)',
  'model.metrics.none': 'This model has no cross-validated metrics (for example, an imported model).',
  'model.accuracy': 'Accuracy',
  'model.macroF1': 'Macro-F1',
  'model.balancedAccuracy': 'Balanced accuracy',
  'model.logLoss': 'Log loss',
  'model.brier': 'Brier score',
  'model.ece': 'Expected calibration error (top label)',
  'model.recall': 'Recall per class',
  'model.recallOf': 'Recall — {class}',
  'model.confusion': 'Confusion matrix, cross-validation test predictions summed over the splits (rows: label, columns: prediction)',
  'model.calibration': 'Calibration',
  'model.calibration.text':
    'Probabilities are softmax(margin ÷ {temperature}); the temperature was fitted on held-out predictions.',
  'model.calibration.metrics': 'Cross-validated top-label ECE {ece}, Brier score {brier}.',
  'model.reliability': 'Reliability diagram for {class}: observed frequency against predicted probability',
  'model.axis.predicted': 'predicted',
  'model.axis.observed': 'observed',
  'model.card.none': 'The confusion matrix and the calibration tables are published with the built-in model only.',
  'model.updates': 'Updates',
  'model.pending': 'Version {version} verified; it will be used from the next exam.',
  'model.check': 'Check for updates now',
  'model.lastCheck': 'Last check: {time}',
  'model.neverChecked': 'Not checked yet.',
  'model.highestSeen': 'Highest version seen: {version}',
  'model.keyMissing': 'No signing public key was built into this app: server updates are refused.',
  'model.status.upToDate': 'Up to date (version {version}).',
  'model.status.updated': 'Verified and installed version {version}.',
  'model.status.unreachable': 'Server unreachable; using version {version}.',
  'model.status.badSignature': 'Refused an update: its signature does not verify against the built-in key.',
  'model.status.noSignature': 'Refused an update: the server sent no signature.',
  'model.status.badHash': 'Refused an update: its SHA-256 does not match its content.',
  'model.status.rollback':
    'Refused an update to version {version}: lower than version {highest} already seen (rollback refused).',
  'model.status.sameVersionDifferent':
    'Refused an update: version {version} with a different content hash than the one already verified.',
  'model.status.invalid': 'Refused an update: the bundle does not load ({message}).',
  'model.status.httpError': 'Update check failed: HTTP {status}.',
  'model.status.noCrypto': 'Refused an update: this browser context has no WebCrypto (HTTPS needed).',

  'settings.title': 'Settings',
  'settings.token': 'Server token',
  'settings.token.help':
    'The clinician token from your administrator. Entered once; stored only on this device. Exams are submitted to the server that serves this app.',
  'settings.save': 'Save token',
  'settings.clear': 'Remove token',
  'settings.saved': 'Token saved.',
  'settings.cleared': 'Token removed.',
  'settings.tokenSet': 'A token is set (…{tail}).',
  'settings.tokenNone': 'No token set: exams stay queued on this device.',
  'settings.session': 'The server knows this token: {name} (clinician).',
  'settings.sessionRole': 'The server knows this token as {name}, role {role}: only a clinician token can submit exams.',
  'settings.sessionRefused': 'The server refused this token: {message}',
  'settings.sessionUnknown': 'The server could not be asked about this token now; it will be used when it is reachable.',
  'settings.storage': 'Storage',
  'settings.persisted': 'Persistent storage granted: the browser will not evict history or queue.',
  'settings.notPersisted': 'Storage may be evicted by the browser under pressure.',
  'settings.offline': 'Offline use',
  'settings.swReady': 'The app, the classifier and the model are stored for offline use.',
  'settings.swMissing': 'Offline cache not active (needs HTTPS or localhost).',
  'settings.about': 'About',
};

const ptBR: Dict = {
  'app.title': 'Saúde Fetal',
  'app.skip': 'Pular para o conteúdo',
  'app.tagline': 'Classificação de exames de CTG — apoio à decisão',
  'app.loading': 'Carregando o classificador…',
  'app.loadFailed': 'Não foi possível carregar o classificador: {message}',
  'app.offline': 'Sem conexão — os exames são classificados neste dispositivo e ficam na fila.',
  'app.online': 'Conectado',
  'app.unreachable': 'Servidor inacessível — trabalhando sem conexão; os exames ficam na fila.',
  'history.unreachable': 'servidor inacessível; nova tentativa em breve.',
  'nav.exam': 'Exame',
  'nav.batch': 'Lote',
  'nav.history': 'Histórico',
  'nav.model': 'Modelo',
  'nav.settings': 'Configurações',
  'nav.label': 'Seções principais',
  'lang.label': 'Idioma',
  'disclaimer':
    'Apoio à decisão; os rótulos são o consenso de três obstetras, não desfechos clínicos.',

  'group.baseline': 'Linha de base',
  'group.baseline.help': 'Linha de base da frequência cardíaca fetal no traçado.',
  'group.events': 'Acelerações, movimentos e contrações',
  'group.events.help': 'Eventos por segundo de traçado (contagem ÷ duração do traçado em segundos).',
  'group.decelerations': 'Desacelerações',
  'group.decelerations.help': 'Eventos por segundo de traçado (contagem ÷ duração do traçado em segundos).',
  'group.variability': 'Variabilidade',
  'group.variability.help': 'Variabilidade de curto e de longo prazo da frequência cardíaca.',
  'group.histogram': 'Histograma da FCF',
  'group.histogram.help': 'Forma do histograma da frequência cardíaca no traçado.',

  'unit.bpm': 'bpm',
  'unit.rate': 'eventos/s',
  'unit.rate.long': 'eventos por segundo',
  'unit.percent': '%',
  'unit.count': 'contagem',
  'unit.bpm2': 'bpm²',
  'unit.tendency': '−1, 0 ou 1',
  'unit.none': '',

  'form.title': 'Novo exame',
  'form.intro':
    'Informe as 21 variáveis de um exame de cardiotocografia, como relatadas pelo sistema de CTG. Decimais podem usar vírgula ou ponto.',
  'form.samples': 'Exames de exemplo do conjunto de dados:',
  'form.sample.normal': 'Exemplo normal',
  'form.sample.suspect': 'Exemplo suspeito',
  'form.sample.pathological': 'Exemplo patológico',
  'form.details': 'Dados do exame (opcional)',
  'form.patientRef': 'Referência da paciente',
  'form.patientRef.help': 'Um número de prontuário local, não um nome. Enviado com o exame.',
  'form.note': 'Observação',
  'form.note.help': 'Texto livre enviado com o exame (no máximo 4.000 caracteres).',
  'form.note.count': '{count} caracteres',
  'form.classify': 'Classificar',
  'form.reset': 'Novo exame',
  'form.required': 'Informe um valor.',
  'form.notNumber': '“{text}” não é um número. Esperado: {expected}.',
  'form.errorsTitle': 'Corrija {count} campo(s) antes de classificar:',
  'form.warning': 'Atenção',
  'form.error': 'Erro',
  'form.pendingModel':
    'A versão {version} do modelo está pronta e será usada a partir do próximo exame (o exame atual continua na versão {current}).',
  'form.switchedModel': 'Agora usando a versão {version} do modelo.',
  'form.range': 'Faixa possível: {min} a {max} {unit}',

  'rule.not_finite': 'Não é um número: informe um valor finito em {unit}.',
  'rule.below_min': 'Abaixo do mínimo possível: esperado de {min} a {max} {unit}.',
  'rule.above_max': 'Acima do máximo possível: esperado de {min} a {max} {unit}.',
  'rule.range': 'Fora da faixa possível: esperado de {min} a {max} {unit}.',
  'rule.not_integer': 'Não é um número inteiro: esperado um valor inteiro ({unit}).',
  'rule.tendency_set': 'A tendência deve ser −1 (assimétrica à esquerda), 0 (simétrica) ou 1 (assimétrica à direita).',
  'rule.width_is_max_minus_min':
    'A amplitude deve ser igual a máximo − mínimo do histograma: esperado {mid} {unit} (± {tolerance}).',
  'rule.mode_within_min_max':
    'A moda deve ficar entre o mínimo e o máximo do histograma: esperado de {min} a {max} {unit}.',
  'rule.median_within_min_max':
    'A mediana deve ficar entre o mínimo e o máximo do histograma: esperado de {min} a {max} {unit}.',
  'rule.mean_within_min_max':
    'A média deve ficar entre o mínimo e o máximo do histograma: esperado de {min} a {max} {unit}.',
  'rule.variance_within_width':
    'A variância não pode exceder (amplitude ÷ 2)²: esperado no máximo {max} {unit}.',
  'rule.min_at_most_max': 'O mínimo do histograma não pode exceder o máximo: esperado no máximo {max} {unit}.',
  'rule.outside_training_range':
    'Fora dos dados de treinamento ({min} a {max} {unit}): o resultado é menos confiável.',
  'rule.generic': 'Valor {value} não aceito ({rule}): esperado de {min} a {max} {unit}.',
  'rule.generic.open': 'Valor {value} não aceito ({rule}).',
  'rule.hint.count':
    'Você informou uma contagem? Esta variável é em eventos por segundo (contagem ÷ duração do traçado em segundos).',
  'rule.hint.fraction': 'Você informou uma fração? Esta variável é um percentual (0 a 100).',

  'result.title': 'Resultado',
  'result.empty': 'Preencha um exame e clique em Classificar para ver o resultado aqui.',
  'result.model': 'Modelo',
  'result.class': 'Classificação do modelo',
  'result.probabilities': 'Probabilidades calibradas',
  'result.contributions': 'O que influenciou o resultado',
  'result.contributions.help':
    'Contribuição de cada variável (TreeSHAP) para o escore de {class}: barras à direita empurraram para {class}, barras à esquerda afastaram.',
  'result.toward': 'a favor de {class}',
  'result.away': 'contra {class}',
  'result.figo': 'Verificação pelas regras FIGO',
  'result.figo.ruleset': 'Conjunto de regras {ruleset}',
  'result.figo.none': 'Nenhum critério FIGO foi atingido.',
  'result.figo.agree': 'O modelo e as regras FIGO concordam.',
  'result.figo.disagree':
    'O modelo ({model}) e as regras FIGO ({figo}) discordam. Revise o traçado; nenhum dos dois prevalece sobre o outro.',
  'result.ood.ok': 'Dentro dos dados de treinamento',
  'result.ood.flag': 'Diferente dos dados de treinamento',
  'result.ood.detail': 'Distância {distance} (limiar {threshold}).',
  'result.ood.explain': 'Poucos ou nenhum exame de treinamento se pareciam com este: o resultado é menos confiável; confira os valores informados e o traçado.',
  'result.ood.features': 'Fora da faixa de treinamento: {features}.',
  'result.warnings': 'Avisos',
  'result.version': 'Modelo v{version} · {hash}',
  'result.savedQueued': 'Salvo no histórico; na fila de envio.',
  'result.notSaved': 'Este navegador recusou guardar o exame (modo privado ou armazenamento cheio): ele não está no histórico e não será enviado.',
  'result.stale': 'Os valores mudaram depois deste resultado. Clique em Classificar de novo para avaliar o exame como está agora.',
  'result.savedNoToken': 'Salvo no histórico. Defina um token do servidor em Configurações para enviar exames.',
  'result.liveSummary': 'Resultado: {class}, probabilidade {probability}. FIGO: {figo}.',

  'class.0': 'Normal',
  'class.1': 'Suspeito',
  'class.2': 'Patológico',
  'figo.0': 'Normal',
  'figo.1': 'Suspeito',
  'figo.2': 'Patológico',

  'figo.flag.generic': '{feature}: {value} (limite {limit})',
  'figo.flag.baseline_bradycardia_severe': 'Linha de base {value} bpm abaixo de {limit} bpm (bradicardia grave)',
  'figo.flag.baseline_bradycardia': 'Linha de base {value} bpm abaixo de {limit} bpm (bradicardia)',
  'figo.flag.baseline_tachycardia': 'Linha de base {value} bpm acima de {limit} bpm (taquicardia)',
  'figo.flag.variability_reduced': 'Variabilidade de longo prazo abaixo de 5 bpm em {value}% do traçado, mais de {limit}% (variabilidade reduzida)',
  'figo.flag.decelerations_repetitive': '{value} desacelerações leves por 10 min, mais de {limit} (metade das contrações, em trabalho de parto com mais de 2 contrações por 10 min): desacelerações repetitivas',
  'figo.flag.decelerations_severe': '{value} desacelerações graves por 10 min: qualquer desaceleração grave é patológica',
  'figo.flag.decelerations_prolonged_repetitive': '{value} desacelerações prolongadas por 10 min, pelo menos {limit} (desacelerações prolongadas repetitivas)',
  'figo.flag.decelerations_prolonged': '{value} desacelerações prolongadas por 10 min (há uma desaceleração prolongada)',
  'figo.flag.uterine_tachysystole': '{value} contrações por 10 min, mais de {limit} (taquissistolia; não altera a classe da CTG)',

  'csv.empty': 'o arquivo CSV está vazio; esperada uma linha de cabeçalho com as 21 colunas',
  'csv.headerQuote': 'o cabeçalho tem uma aspa que nunca é fechada; esperados nomes de colunas separados por vírgula',
  'csv.labelTwice': 'a coluna fetal_health aparece duas vezes no cabeçalho',
  'csv.columnTwice': 'a coluna {1} aparece duas vezes no cabeçalho (colunas {2} e {3})',
  'csv.missingColumns': 'faltam no cabeçalho as colunas {1}; são esperados os 21 nomes de colunas do conjunto de dados (ou suas chaves), em qualquer ordem',
  'csv.noLabel': 'o cabeçalho não tem a coluna fetal_health',
  'csv.tooManyRows': 'o arquivo tem mais de {1} linhas de exame; esta linha e as seguintes não foram lidas',
  'csv.cellQuote': 'uma célula entre aspas nunca é fechada; esperada uma aspa de fechamento antes do fim do arquivo',
  'csv.cellCount': 'a linha tem {1} células, mas o cabeçalho tem {2} colunas; esperada uma célula por coluna',
  'csv.badLabel': 'esperado o rótulo 1 (Normal), 2 (Suspeito) ou 3 (Patológico), recebido {1}',
  'csv.decimalComma': 'esperado um número, recebido {1}; use ponto como separador decimal no arquivo',
  'csv.notNumber': 'esperado um número, recebido {1}',
  'batch.title': 'Classificação em lote',
  'batch.intro':
    'Escolha ou arraste um arquivo CSV com os nomes de colunas do conjunto de dados (por exemplo “baseline value”, “accelerations”, …). As colunas podem estar em qualquer ordem; uma coluna “fetal_health”, se houver, é mostrada ao lado do resultado.',
  'batch.pick': 'Escolher um arquivo CSV',
  'batch.drop': 'ou arraste-o para cá',
  'batch.reading': 'Lendo {name}…',
  'batch.progress': '{done} de {total} classificados',
  'batch.done': '{name}: {valid} exames classificados, {invalid} linhas não classificadas, em {ms} ms (modelo v{version}).',
  'batch.headerError': 'O arquivo não pode ser usado: {message}',
  'batch.counts': 'Exames por classe',
  'batch.table': 'Resultados',
  'batch.col.line': 'Linha',
  'batch.col.class': 'Classe',
  'batch.col.label': 'Rótulo no arquivo',
  'batch.col.pNormal': 'P(Normal)',
  'batch.col.pSuspect': 'P(Suspeito)',
  'batch.col.pPathological': 'P(Patológico)',
  'batch.invalid': 'Linhas não classificadas ({count})',
  'batch.invalid.none': 'Todas as linhas foram lidas e validadas.',
  'batch.col.reason': 'Motivo',
  'batch.col.column': 'Coluna',
  'batch.export': 'Exportar resultados em CSV',
  'batch.page': 'Página {page} de {pages}',
  'batch.prev': 'Página anterior',
  'batch.next': 'Próxima página',
  'batch.parseError': 'Coluna “{field}”: {message}',
  'batch.chartLabel': 'Gráfico de barras com o número de exames por classe',
  'batch.differs': 'difere do rótulo no arquivo',
  'batch.filter': 'Mostrar',
  'batch.filter.all': 'todas as linhas classificadas',
  'batch.filter.differs': 'linhas cuja classe difere do rótulo do arquivo',
  'batch.shown': '{count} linhas',

  'history.title': 'Histórico',
  'history.intro': 'Todos os exames classificados neste dispositivo, do mais recente ao mais antigo, com a versão do modelo que os avaliou.',
  'history.empty': 'Nenhum exame ainda.',
  'history.col.time': 'Data e hora',
  'history.col.class': 'Classe',
  'history.col.probability': 'Probabilidade',
  'history.col.figo': 'FIGO',
  'history.col.model': 'Modelo',
  'history.col.status': 'Situação',
  'history.col.id': 'Identificador do exame',
  'history.details': 'Detalhes',
  'history.patient': 'Paciente {ref}',
  'history.status.submitted': 'Enviado',
  'history.status.queued': 'Na fila',
  'history.status.rejected': 'Recusado',
  'history.status.queuedNoToken': 'Na fila (sem token do servidor)',
  'history.retryNow': 'Tentar enviar a fila agora',
  'history.queueCount': '{count} envio(s) aguardando.',
  'history.lastError': 'Última tentativa: {message}',
  'history.agreement.match': 'O servidor reavaliou o exame e concorda (maior diferença {diff}).',
  'history.agreement.mismatch': 'O servidor reavaliou o exame e DISCORDA (maior diferença {diff}).',
  'history.serverSaid': 'Servidor: {message}',
  'history.queueNone': 'Nenhum envio aguardando.',

  'model.title': 'Modelo',
  'model.version': 'Versão',
  'model.name': 'Nome',
  'model.created': 'Criado em',
  'model.hash': 'SHA-256 do conteúdo',
  'model.source': 'Produzido por',
  'model.trainingData': 'SHA-256 dos dados de treinamento',
  'model.figo': 'Conjunto de regras FIGO',
  'model.temperature': 'Temperatura de calibração',
  'model.oodThreshold': 'Limiar de distância (fora da distribuição)',
  'model.origin': 'Carregado de',
  'model.origin.builtin': 'embutido no aplicativo',
  'model.origin.server': 'atualização do servidor (assinatura verificada)',
  'model.card': 'Ficha do modelo',
  'model.metrics': 'Métricas por validação cruzada ({splits} partições)',
  'model.metrics.none': 'Este modelo não tem métricas de validação cruzada (por exemplo, um modelo importado).',
  'model.accuracy': 'Acurácia',
  'model.macroF1': 'F1 macro',
  'model.balancedAccuracy': 'Acurácia balanceada',
  'model.logLoss': 'Perda logarítmica',
  'model.brier': 'Escore de Brier',
  'model.ece': 'Erro de calibração esperado (classe prevista)',
  'model.recall': 'Sensibilidade por classe',
  'model.recallOf': 'Sensibilidade — {class}',
  'model.confusion': 'Matriz de confusão, previsões de teste da validação cruzada somadas nas partições (linhas: rótulo, colunas: previsão)',
  'model.calibration': 'Calibração',
  'model.calibration.text':
    'As probabilidades são softmax(margem ÷ {temperature}); a temperatura foi ajustada em previsões fora da amostra.',
  'model.calibration.metrics': 'ECE da classe prevista na validação cruzada {ece}, escore de Brier {brier}.',
  'model.reliability': 'Diagrama de confiabilidade de {class}: frequência observada em função da probabilidade prevista',
  'model.axis.predicted': 'previsto',
  'model.axis.observed': 'observado',
  'model.card.none': 'A matriz de confusão e as tabelas de calibração são publicadas apenas com o modelo embutido.',
  'model.updates': 'Atualizações',
  'model.pending': 'Versão {version} verificada; será usada a partir do próximo exame.',
  'model.check': 'Verificar atualizações agora',
  'model.lastCheck': 'Última verificação: {time}',
  'model.neverChecked': 'Ainda não verificado.',
  'model.highestSeen': 'Maior versão já vista: {version}',
  'model.keyMissing': 'Nenhuma chave pública de assinatura foi embutida neste aplicativo: atualizações do servidor são recusadas.',
  'model.status.upToDate': 'Atualizado (versão {version}).',
  'model.status.updated': 'Versão {version} verificada e instalada.',
  'model.status.unreachable': 'Servidor inacessível; usando a versão {version}.',
  'model.status.badSignature': 'Atualização recusada: a assinatura não confere com a chave embutida.',
  'model.status.noSignature': 'Atualização recusada: o servidor não enviou assinatura.',
  'model.status.badHash': 'Atualização recusada: o SHA-256 não confere com o conteúdo.',
  'model.status.rollback':
    'Atualização para a versão {version} recusada: inferior à versão {highest} já vista (retrocesso recusado).',
  'model.status.sameVersionDifferent':
    'Atualização recusada: versão {version} com conteúdo diferente do já verificado.',
  'model.status.invalid': 'Atualização recusada: o pacote do modelo não carrega ({message}).',
  'model.status.httpError': 'Falha ao verificar atualização: HTTP {status}.',
  'model.status.noCrypto': 'Atualização recusada: este contexto do navegador não tem WebCrypto (é preciso HTTPS).',

  'settings.title': 'Configurações',
  'settings.token': 'Token do servidor',
  'settings.token.help':
    'O token de profissional clínico fornecido pelo administrador. Informado uma vez; guardado apenas neste dispositivo. Os exames são enviados ao servidor que hospeda este aplicativo.',
  'settings.save': 'Salvar token',
  'settings.clear': 'Remover token',
  'settings.saved': 'Token salvo.',
  'settings.cleared': 'Token removido.',
  'settings.tokenSet': 'Há um token definido (…{tail}).',
  'settings.tokenNone': 'Nenhum token definido: os exames ficam na fila neste dispositivo.',
  'settings.session': 'O servidor reconhece este token: {name} (profissional clínico).',
  'settings.sessionRole': 'O servidor reconhece este token como {name}, papel {role}: apenas um token de profissional clínico pode enviar exames.',
  'settings.sessionRefused': 'O servidor recusou este token: {message}',
  'settings.sessionUnknown': 'Não foi possível consultar o servidor sobre este token agora; ele será usado quando o servidor estiver acessível.',
  'settings.storage': 'Armazenamento',
  'settings.persisted': 'Armazenamento persistente concedido: o navegador não apagará o histórico nem a fila.',
  'settings.notPersisted': 'O navegador pode apagar os dados se faltar espaço.',
  'settings.offline': 'Uso sem conexão',
  'settings.swReady': 'O aplicativo, o classificador e o modelo estão guardados para uso sem conexão.',
  'settings.swMissing': 'Cache para uso sem conexão inativo (requer HTTPS ou localhost).',
  'settings.about': 'Sobre',
};

// Feature names and one-line help, by schema key. The core's English descriptions are used only
// if a key is unknown here (a schema change the app was not updated for).
interface FeatureText { name: string; help: string }
const featureEn: Record<string, FeatureText> = {
  baseline_value: { name: 'Baseline FHR', help: 'Mean fetal heart rate, excluding accelerations and decelerations.' },
  accelerations: { name: 'Accelerations', help: 'Accelerations per second of trace.' },
  fetal_movement: { name: 'Fetal movements', help: 'Fetal movements per second of trace.' },
  uterine_contractions: { name: 'Uterine contractions', help: 'Contractions per second of trace.' },
  light_decelerations: { name: 'Light decelerations', help: 'Light decelerations per second of trace.' },
  severe_decelerations: { name: 'Severe decelerations', help: 'Severe decelerations per second of trace.' },
  prolongued_decelerations: { name: 'Prolonged decelerations', help: 'Prolonged decelerations per second of trace (at most 1 per 120 s).' },
  abnormal_short_term_variability: { name: 'Abnormal short-term variability', help: 'Percentage of time with abnormal short-term variability.' },
  mean_value_of_short_term_variability: { name: 'Mean short-term variability', help: 'Mean short-term variability.' },
  percentage_of_time_with_abnormal_long_term_variability: { name: 'Abnormal long-term variability', help: 'Percentage of time with abnormal long-term variability.' },
  mean_value_of_long_term_variability: { name: 'Mean long-term variability', help: 'Mean long-term variability.' },
  histogram_width: { name: 'Histogram width', help: 'Maximum − minimum of the FHR histogram.' },
  histogram_min: { name: 'Histogram minimum', help: 'Lowest FHR in the histogram.' },
  histogram_max: { name: 'Histogram maximum', help: 'Highest FHR in the histogram.' },
  histogram_number_of_peaks: { name: 'Histogram peaks', help: 'Number of peaks in the histogram.' },
  histogram_number_of_zeroes: { name: 'Histogram zeroes', help: 'Number of zeroes in the histogram.' },
  histogram_mode: { name: 'Histogram mode', help: 'Most frequent FHR.' },
  histogram_mean: { name: 'Histogram mean', help: 'Mean FHR of the histogram.' },
  histogram_median: { name: 'Histogram median', help: 'Median FHR of the histogram.' },
  histogram_variance: { name: 'Histogram variance', help: 'Variance of the FHR histogram.' },
  histogram_tendency: { name: 'Histogram tendency', help: '−1 left asymmetric, 0 symmetric, 1 right asymmetric.' },
};
const featurePt: Record<string, FeatureText> = {
  baseline_value: { name: 'Linha de base da FCF', help: 'Frequência cardíaca fetal média, sem acelerações nem desacelerações.' },
  accelerations: { name: 'Acelerações', help: 'Acelerações por segundo de traçado.' },
  fetal_movement: { name: 'Movimentos fetais', help: 'Movimentos fetais por segundo de traçado.' },
  uterine_contractions: { name: 'Contrações uterinas', help: 'Contrações por segundo de traçado.' },
  light_decelerations: { name: 'Desacelerações leves', help: 'Desacelerações leves por segundo de traçado.' },
  severe_decelerations: { name: 'Desacelerações graves', help: 'Desacelerações graves por segundo de traçado.' },
  prolongued_decelerations: { name: 'Desacelerações prolongadas', help: 'Desacelerações prolongadas por segundo de traçado (no máximo 1 a cada 120 s).' },
  abnormal_short_term_variability: { name: 'Variabilidade de curto prazo anormal', help: 'Percentual do tempo com variabilidade de curto prazo anormal.' },
  mean_value_of_short_term_variability: { name: 'Variabilidade média de curto prazo', help: 'Valor médio da variabilidade de curto prazo.' },
  percentage_of_time_with_abnormal_long_term_variability: { name: 'Variabilidade de longo prazo anormal', help: 'Percentual do tempo com variabilidade de longo prazo anormal.' },
  mean_value_of_long_term_variability: { name: 'Variabilidade média de longo prazo', help: 'Valor médio da variabilidade de longo prazo.' },
  histogram_width: { name: 'Amplitude do histograma', help: 'Máximo − mínimo do histograma da FCF.' },
  histogram_min: { name: 'Mínimo do histograma', help: 'Menor FCF do histograma.' },
  histogram_max: { name: 'Máximo do histograma', help: 'Maior FCF do histograma.' },
  histogram_number_of_peaks: { name: 'Picos do histograma', help: 'Número de picos do histograma.' },
  histogram_number_of_zeroes: { name: 'Zeros do histograma', help: 'Número de zeros do histograma.' },
  histogram_mode: { name: 'Moda do histograma', help: 'FCF mais frequente.' },
  histogram_mean: { name: 'Média do histograma', help: 'FCF média do histograma.' },
  histogram_median: { name: 'Mediana do histograma', help: 'FCF mediana do histograma.' },
  histogram_variance: { name: 'Variância do histograma', help: 'Variância do histograma da FCF.' },
  histogram_tendency: { name: 'Tendência do histograma', help: '−1 assimétrico à esquerda, 0 simétrico, 1 assimétrico à direita.' },
};

const dicts: Record<Lang, Dict> = { en, 'pt-BR': ptBR };
// For tests/e2e/i18n.test.mjs: both languages must have the same keys and placeholders.
export const DICTIONARIES = { strings: dicts, features: { en: featureEn, 'pt-BR': featurePt } as const };
const featureDicts: Record<Lang, Record<string, FeatureText>> = { en: featureEn, 'pt-BR': featurePt };

let current: Lang = 'en';
const listeners: Array<() => void> = [];

export function lang(): Lang {
  return current;
}

export function setLang(next: Lang): void {
  current = next;
  document.documentElement.lang = next;
  try {
    localStorage.setItem('fetal.lang', next);
  } catch {
    /* private mode: language just is not remembered */
  }
  for (const fn of listeners) fn();
}

export function onLangChange(fn: () => void): void {
  listeners.push(fn);
}

export function initialLang(): Lang {
  let saved: string | null = null;
  try {
    saved = localStorage.getItem('fetal.lang');
  } catch {
    saved = null;
  }
  if (saved === 'en' || saved === 'pt-BR') return saved;
  return (navigator.language || '').toLowerCase().startsWith('pt') ? 'pt-BR' : 'en';
}

export function has(key: string): boolean {
  return key in dicts[current];
}

export function t(key: string, params: Record<string, string | number> = {}): string {
  const template = dicts[current][key] ?? dicts.en[key] ?? key;
  return template.replace(/\{(\w+)\}/g, (_, name: string) =>
    name in params ? String(params[name]) : `{${name}}`,
  );
}

export function featureText(key: string, fallbackName: string, fallbackHelp: string): FeatureText {
  return featureDicts[current][key] ?? { name: fallbackName, help: fallbackHelp };
}

// Intl formatters are costly to build (tens of microseconds each: the start-up form formats a
// few hundred numbers), so each language-and-options pair is built once.
const formatters = new Map<string, Intl.NumberFormat | Intl.DateTimeFormat>();
function formatter<T extends Intl.NumberFormat | Intl.DateTimeFormat>(key: string, make: () => T): T {
  const full = `${current}|${key}`;
  let f = formatters.get(full) as T | undefined;
  if (!f) {
    f = make();
    formatters.set(full, f);
  }
  return f;
}

// Formats a number for display in the current language (decimal comma in pt-BR).
export function num(value: number, maxFractionDigits = 4): string {
  if (!Number.isFinite(value)) return String(value);
  return formatter(`num${maxFractionDigits}`, () =>
    new Intl.NumberFormat(current, { maximumFractionDigits: maxFractionDigits })).format(value);
}

// Fixed number of decimals, for columns of probabilities.
export function fixed(value: number, digits: number): string {
  return formatter(`fixed${digits}`, () =>
    new Intl.NumberFormat(current, { minimumFractionDigits: digits, maximumFractionDigits: digits })).format(value);
}

export function pct(p: number, digits = 1): string {
  return formatter(`pct${digits}`, () => new Intl.NumberFormat(current, {
    style: 'percent',
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  })).format(p);
}

export function dateTime(ms: number): string {
  return formatter('dateTime', () =>
    new Intl.DateTimeFormat(current, { dateStyle: 'short', timeStyle: 'medium' })).format(new Date(ms));
}

// For the e2e "no English in pt-BR" check: every English string that differs from its
// Portuguese counterpart.
export function englishOnlyStrings(): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(en)) if (ptBR[k] !== v) out.push(v);
  for (const [k, v] of Object.entries(featureEn)) {
    if (featurePt[k]?.name !== v.name) out.push(v.name);
    if (featurePt[k]?.help !== v.help) out.push(v.help);
  }
  return out;
}
