/* Stripe.js v3 stand-in served by stripe-emulator. TEST MODE ONLY: talks to the emulator
 * that served this script, never to Stripe. Card data lives in the card iframe (served by
 * the emulator's origin) and reaches the API from there, as with Stripe's own Elements. */
(function () {
  'use strict';
  if (window.Stripe && window.Stripe.__emulator) return;

  var script = document.currentScript;
  var API = new URL(script ? script.src : '/v3/', location.href).origin;
  var frames = 0;
  var requests = 0;

  function IntegrationError(message) {
    var e = new Error(message);
    e.name = 'IntegrationError';
    return e;
  }

  // Stripe's form encoding: nested objects in bracket notation.
  function encode(params, prefix, out) {
    out = out || [];
    Object.keys(params).forEach(function (k) {
      var v = params[k];
      var name = prefix ? prefix + '[' + k + ']' : k;
      if (v === undefined || v === null) return;
      if (typeof v === 'object') encode(v, name, out);
      else out.push(encodeURIComponent(name) + '=' + encodeURIComponent(String(v)));
    });
    return out.join('&');
  }

  function call(method, path, params) {
    var url = API + path;
    var init = { method: method, headers: {} };
    var body = encode(params);
    if (method === 'GET') url += '?' + body;
    else {
      init.headers['Content-Type'] = 'application/x-www-form-urlencoded';
      init.body = body;
    }
    return fetch(url, init).then(
      function (r) { return r.json().then(function (b) { return { ok: r.ok, body: b }; }); },
      function () {
        return { ok: false, body: { error: { type: 'api_connection_error', message: 'We could not reach the payment service. Check your connection and try again.' } } };
      }
    );
  }

  function intentId(clientSecret) {
    var m = typeof clientSecret === 'string' && /^(pi_[A-Za-z0-9]+)_secret_[A-Za-z0-9]+$/.exec(clientSecret);
    if (!m) throw IntegrationError('Invalid value for clientSecret: the client secret of a PaymentIntent looks like pi_…_secret_….');
    return m[1];
  }

  function Stripe(key, options) {
    if (!(this instanceof Stripe)) return new Stripe(key, options);
    if (typeof key !== 'string' || !/^pk_test_[A-Za-z0-9_]{8,}$/.test(key)) {
      throw IntegrationError('Invalid API Key provided: the Stripe emulator takes a test publishable key (pk_test_…).');
    }
    this._key = key;
    this._locale = (options && options.locale) || 'auto';
  }
  Stripe.__emulator = true;

  Stripe.prototype.elements = function (options) {
    return new Elements(this, options || {});
  };

  Stripe.prototype.retrievePaymentIntent = function (clientSecret) {
    var id = intentId(clientSecret);
    return call('GET', '/v1/payment_intents/' + id, { key: this._key, client_secret: clientSecret }).then(function (r) {
      return r.ok ? { paymentIntent: r.body } : { error: r.body.error };
    });
  };

  Stripe.prototype.createPaymentMethod = function (a, b, c) {
    // Both createPaymentMethod({type, card, billing_details}) and the older ('card', element, data).
    var data = typeof a === 'string' ? Object.assign({ type: a, card: b }, c || {}) : a || {};
    if (data.type !== 'card') return Promise.reject(IntegrationError('The Stripe emulator supports type "card" only.'));
    var element = data.card;
    if (!(element instanceof CardElement) || !element._frame) {
      return Promise.reject(IntegrationError('Please use the same instance of `Stripe` you used to create this Element, and mount it before calling createPaymentMethod.'));
    }
    return element._ask('createPaymentMethod', { key: this._key, billing_details: data.billing_details || null, metadata: data.metadata || null });
  };

  // Shows the 3-D Secure challenge and resolves once the cardholder answered.
  function challenge(stripeJsUrl, clientSecret) {
    return new Promise(function (resolve) {
      var overlay = document.createElement('div');
      overlay.setAttribute('data-stripe-emulator', 'challenge');
      overlay.style.cssText = 'position:fixed;inset:0;background:rgba(0,0,0,.45);z-index:2147483647;display:flex;align-items:center;justify-content:center';
      var iframe = document.createElement('iframe');
      iframe.name = '__privateStripeFrame' + (++frames) + '_challenge';
      iframe.title = '3D Secure authentication (Stripe emulator)';
      iframe.src = stripeJsUrl + '?client_secret=' + encodeURIComponent(clientSecret) + '&origin=' + encodeURIComponent(location.origin);
      iframe.style.cssText = 'width:420px;max-width:95vw;height:420px;border:0;border-radius:8px;background:#fff';
      overlay.appendChild(iframe);
      function onMessage(event) {
        if (event.origin !== API || event.source !== iframe.contentWindow) return;
        if (!event.data || event.data.source !== 'stripe-emulator-3ds') return;
        window.removeEventListener('message', onMessage);
        overlay.remove();
        resolve(event.data);
      }
      window.addEventListener('message', onMessage);
      document.body.appendChild(overlay);
    });
  }

  // Runs next_action for an intent that requires it, then returns the intent as it is after.
  function runNextAction(stripe, clientSecret, pi) {
    var action = pi.next_action && pi.next_action.use_stripe_sdk;
    if (pi.status !== 'requires_action' || !action) return Promise.resolve(pi);
    return challenge(action.stripe_js, clientSecret).then(function () {
      return stripe.retrievePaymentIntent(clientSecret);
    }).then(function (r) {
      if (r.error) throw r;
      return r.paymentIntent;
    });
  }

  function authenticationOutcome(pi) {
    if (pi.status === 'requires_payment_method' && pi.last_payment_error) {
      var e = pi.last_payment_error;
      return { error: { type: e.type, code: e.code, decline_code: e.decline_code, message: e.message, payment_intent: pi } };
    }
    return { paymentIntent: pi };
  }

  Stripe.prototype.handleCardAction = function (clientSecret) {
    var stripe = this;
    return this.retrievePaymentIntent(clientSecret).then(function (r) {
      if (r.error) return r;
      var pi = r.paymentIntent;
      if (pi.status !== 'requires_action') {
        return { error: { type: 'invalid_request_error', code: 'payment_intent_unexpected_state', message: 'handleCardAction: the PaymentIntent does not require an action (status ' + pi.status + ').', payment_intent: pi } };
      }
      return runNextAction(stripe, clientSecret, pi).then(authenticationOutcome, function (r2) { return r2; });
    });
  };

  Stripe.prototype.confirmCardPayment = function (clientSecret, data) {
    var stripe = this;
    var id = intentId(clientSecret);
    data = data || {};
    var pm = data.payment_method;
    var ready = pm && pm.card instanceof CardElement
      ? stripe.createPaymentMethod({ type: 'card', card: pm.card, billing_details: pm.billing_details })
          .then(function (r) { if (r.error) throw r; return r.paymentMethod.id; })
      : Promise.resolve(typeof pm === 'string' ? pm : undefined);
    return ready.then(function (pmId) {
      var params = { key: stripe._key, client_secret: clientSecret };
      if (pmId) params.payment_method = pmId;
      return call('POST', '/v1/payment_intents/' + id + '/confirm', params);
    }).then(function (r) {
      if (!r.ok) return { error: r.body.error };
      return runNextAction(stripe, clientSecret, r.body).then(authenticationOutcome, function (r2) { return r2; });
    }, function (r) { return r; });
  };

  function Elements(stripe, options) {
    this._stripe = stripe;
    this._options = options;
  }

  Elements.prototype.create = function (type, options) {
    if (type !== 'card') throw IntegrationError('The Stripe emulator supports the "card" Element only, not "' + type + '".');
    return new CardElement(this._stripe, options || {});
  };

  Elements.prototype.getElement = function (type) {
    return type === 'card' ? this._card || null : null;
  };

  function CardElement(stripe, options) {
    this._stripe = stripe;
    this._options = options;
    this._handlers = {};
    this._pending = {};
    this._frame = null;
    this._destroyed = false;
    this._onMessage = this._onMessage.bind(this);
  }

  CardElement.prototype.on = function (event, handler) {
    (this._handlers[event] = this._handlers[event] || []).push(handler);
    return this;
  };

  CardElement.prototype.off = function (event, handler) {
    var list = this._handlers[event] || [];
    this._handlers[event] = handler ? list.filter(function (h) { return h !== handler; }) : [];
    return this;
  };

  CardElement.prototype._emit = function (event, payload) {
    (this._handlers[event] || []).forEach(function (h) { h(payload); });
  };

  CardElement.prototype.mount = function (target) {
    if (this._destroyed) throw IntegrationError('This Element has already been destroyed. Please create a new one.');
    var host = typeof target === 'string' ? document.querySelector(target) : target;
    if (!host) throw IntegrationError('The selector you specified (' + target + ') applies to no DOM elements that are currently on the page.');
    if (this._frame) this.unmount();
    var n = ++frames;
    var iframe = document.createElement('iframe');
    iframe.name = '__privateStripeFrame' + n;
    iframe.title = 'Secure card payment input frame (Stripe emulator)';
    iframe.setAttribute('frameborder', '0');
    iframe.setAttribute('allowtransparency', 'true');
    iframe.setAttribute('scrolling', 'no');
    iframe.style.cssText = 'border:none;width:100%;height:64px;display:block;overflow:hidden';
    var q = { origin: location.origin, locale: this._stripe._locale, hidePostalCode: this._options.hidePostalCode ? '1' : '0', disabled: this._options.disabled ? '1' : '0' };
    iframe.src = API + '/v3/elements/card?' + encode(q);
    this._frame = iframe;
    this._host = host;
    host.innerHTML = '';
    host.classList.add('StripeElement', 'StripeElement--empty');
    host.appendChild(iframe);
    window.addEventListener('message', this._onMessage);
  };

  CardElement.prototype._onMessage = function (event) {
    if (!this._frame || event.origin !== API || event.source !== this._frame.contentWindow) return;
    var m = event.data;
    if (!m || m.source !== 'stripe-emulator-card') return;
    if (m.type === 'response') {
      var done = this._pending[m.id];
      delete this._pending[m.id];
      if (done) done(m.result);
      return;
    }
    if (m.type === 'change' && this._host) {
      this._host.classList.toggle('StripeElement--empty', !!m.payload.empty);
      this._host.classList.toggle('StripeElement--complete', !!m.payload.complete);
      this._host.classList.toggle('StripeElement--invalid', !!m.payload.error);
    }
    if (m.type === 'focus' && this._host) this._host.classList.add('StripeElement--focus');
    if (m.type === 'blur' && this._host) this._host.classList.remove('StripeElement--focus');
    this._emit(m.type, Object.assign({ elementType: 'card' }, m.payload || {}));
  };

  CardElement.prototype._post = function (message) {
    if (this._frame && this._frame.contentWindow) {
      this._frame.contentWindow.postMessage(Object.assign({ source: 'stripe-emulator-host' }, message), API);
    }
  };

  CardElement.prototype._ask = function (type, payload) {
    var self = this;
    var id = ++requests;
    return new Promise(function (resolve) {
      self._pending[id] = resolve;
      self._post({ type: type, id: id, payload: payload });
    });
  };

  CardElement.prototype.unmount = function () {
    window.removeEventListener('message', this._onMessage);
    if (this._frame) this._frame.remove();
    this._frame = null;
    this._host = null;
  };

  CardElement.prototype.destroy = function () {
    this.unmount();
    this._destroyed = true;
  };

  CardElement.prototype.update = function (options) {
    Object.assign(this._options, options || {});
    this._post({ type: 'update', payload: { disabled: !!this._options.disabled, hidePostalCode: !!this._options.hidePostalCode } });
  };

  CardElement.prototype.focus = function () { this._post({ type: 'focus' }); };
  CardElement.prototype.blur = function () { this._post({ type: 'blur' }); };
  CardElement.prototype.clear = function () { this._post({ type: 'clear' }); };

  window.Stripe = Stripe;
})();
