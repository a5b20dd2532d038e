/**
 * Every layer kind, imported for its registration: what the model-file readers load.
 * A new layer file is added here.
 * Internal to rnnkit: not part of the public API.
 */
import './input-layer';
import './recurrent';
import './bidirectional';
import './dense';
import './embedding';
import './dropout';
import './time-distributed';
import './flatten';
import './reshape';
import './repeat-vector';
import './masking';
import './merge';
import './layer-normalization';
import './batch-normalization';
import './activation';
import './spatial-dropout';
import './conv1d';
import './pooling1d';
